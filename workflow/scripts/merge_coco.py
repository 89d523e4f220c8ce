import logging

from synthdet.core.entry import logged
from synthdet.export import coco_merge

log = logging.getLogger("synthdet.merge_coco")

with logged(snakemake.log[0]):
    for side in ("train", "test"):
        description = f"{snakemake.wildcards.dataset} ({side}): labels from Grounding DINO + SAM 2"
        counts = coco_merge.merge_side(
            list(snakemake.input), side, snakemake.output[side], description
        )
        log.info("%s: %s from %d shards", side, counts, len(snakemake.input))
