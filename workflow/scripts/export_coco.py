import logging

from synthdet.core.entry import logged
from synthdet.export import coco_format

log = logging.getLogger("synthdet.export_coco")

with logged(snakemake.log[0]):
    written = coco_format.export_coco(
        list(snakemake.input),
        snakemake.output[0],
        snakemake.wildcards.dataset,
        snakemake.params.empty_images,
        snakemake.params.split,
        int(snakemake.wildcards.get("shard", 0)),
    )
    for side, coco in written.items():
        log.info(
            "%s: %d images, %d annotations", side, len(coco["images"]), len(coco["annotations"])
        )
