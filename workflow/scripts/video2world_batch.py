import logging

from synthdet import batches
from synthdet.atomic import read_json, write_json
from synthdet.entry import logged

log = logging.getLogger("synthdet.video2world_batch")

with logged(snakemake):
    items = batches.video2world_items(
        read_json(snakemake.input.prompts)["prompts"],
        read_json(snakemake.input.images),
        snakemake.params.video_dir,
        snakemake.params.prompts_per_seed,
    )
    write_json(snakemake.output[0], items)
    log.info("%d items", len(items))
