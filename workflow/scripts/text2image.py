import logging

from synthdet import generate
from synthdet.entry import generation_job, logged


with logged(snakemake) as log_path:
    result = generate.text2image(
        snakemake.input[0],
        snakemake.output.images,
        snakemake.output.manifest,
        generation_job(snakemake),
        log_path,
    )
    logging.info("items: %s", result["counts"])
