import logging

from synthdet import batches
from synthdet.atomic import read_json, write_json
from synthdet.entry import logged

log = logging.getLogger("synthdet.text2image_batch")

with logged(snakemake):
    prompts = read_json(snakemake.input[0])["prompts"]
    items = batches.text2image_items(prompts, snakemake.params.image_dir)
    write_json(snakemake.output[0], items)
    log.info("%d items", len(items))
