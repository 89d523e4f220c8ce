import logging

from synthdet import exports
from synthdet.entry import logged

log = logging.getLogger("synthdet.export_yolo")

with logged(snakemake.log[0]):
    counts = exports.export_yolo(
        list(snakemake.input),
        snakemake.output[0],
        snakemake.params.empty_images,
        snakemake.params.split,
    )
    log.info("images per side: %s", counts)
