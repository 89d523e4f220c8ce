import logging

from synthdet import exports
from synthdet.entry import logged

log = logging.getLogger("synthdet.export_voc")

with logged(snakemake):
    counts = exports.export_voc(
        list(snakemake.input), snakemake.output[0], snakemake.params.empty_images
    )
    log.info("%s", counts)
