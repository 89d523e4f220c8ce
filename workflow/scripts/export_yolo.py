import logging

from synthdet.core.entry import logged
from synthdet.export import yolo_format

log = logging.getLogger("synthdet.export_yolo")

with logged(snakemake.log[0]):
    counts = yolo_format.export_yolo(
        list(snakemake.input),
        snakemake.output[0],
        snakemake.params.empty_images,
        snakemake.params.split,
    )
    log.info("images per side: %s", counts)
