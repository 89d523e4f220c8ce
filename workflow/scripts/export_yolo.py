import logging

from synthdet import exports
from synthdet.entry import logged

log = logging.getLogger("synthdet.export_yolo")

with logged(snakemake):
    log.info("%d images", exports.export_yolo(list(snakemake.input), snakemake.output[0]))
