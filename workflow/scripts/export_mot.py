import logging

from synthdet.core.entry import logged
from synthdet.export import mot

log = logging.getLogger("synthdet.export_mot")

with logged(snakemake.log[0]):
    params = snakemake.params
    counts = mot.export_mot(
        list(snakemake.input),
        snakemake.output[0],
        params.empty_images,
        params.split,
        params.fps,
        int(snakemake.wildcards.get("shard", 0)),
    )
    log.info("sequences per side and gt lines: %s", counts)
