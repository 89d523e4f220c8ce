import logging

from synthdet import generate
from synthdet.entry import generation_job, logged

log = logging.getLogger("synthdet.video2world")


with logged(snakemake):
    result = generate.video2world(
        snakemake.input.batch,
        snakemake.input.image_manifest,
        snakemake.output.videos,
        snakemake.output.manifest,
        generation_job(snakemake),
        snakemake.log[0],
    )
    log.info("items: %s", result["counts"])
