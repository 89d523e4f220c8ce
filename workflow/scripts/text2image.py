import logging

from synthdet import generate
from synthdet.entry import generation_job, logged

log = logging.getLogger("synthdet.text2image")


with logged(snakemake):
    result = generate.text2image(
        snakemake.input[0],
        snakemake.output.images,
        snakemake.output.manifest,
        generation_job(snakemake),
        snakemake.log[0],
    )
    log.info("items: %s", result["counts"])
