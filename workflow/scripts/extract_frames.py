import logging

from synthdet import frames
from synthdet.entry import logged

with logged(snakemake):
    result = frames.cut_batch(
        snakemake.input.manifest,
        snakemake.output.frames,
        snakemake.output.manifest,
        snakemake.wildcards.dataset,
        int(snakemake.wildcards.seed),
        snakemake.params.fps,
    )
    logging.info("videos: %s", result["counts"])
