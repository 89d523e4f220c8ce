import logging

from synthdet import generate
from synthdet.entry import generation_job, logged


with logged(snakemake) as log_path:
    result = generate.video2world(
        snakemake.input.batch,
        snakemake.input.image_manifest,
        snakemake.output.videos,
        snakemake.output.manifest,
        generation_job(snakemake),
        log_path,
    )
    logging.info("items: %s", result["counts"])
