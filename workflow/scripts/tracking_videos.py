import logging

from synthdet.core.entry import logged
from synthdet.report import tracking_videos

log = logging.getLogger("synthdet.tracking_videos")

with logged(snakemake.log[0]):
    written = tracking_videos.write_videos(
        snakemake.input[0], snakemake.output[0], snakemake.params.fps
    )
    log.info("%d annotated tracking videos", len(written))
