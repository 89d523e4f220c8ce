import logging

from synthdet.core.entry import logged
from synthdet.generate import frames

log = logging.getLogger("synthdet.extract_frames")

with logged(snakemake.log[0]):
    result = frames.cut_batch(
        snakemake.input.manifest,
        snakemake.output.frames,
        snakemake.output.manifest,
        snakemake.wildcards.dataset,
        int(snakemake.wildcards.seed),
        snakemake.params.fps,
    )
    log.info("videos: %s", result["counts"])
