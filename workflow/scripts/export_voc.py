import logging

from synthdet.core.entry import logged
from synthdet.export import voc_format

log = logging.getLogger("synthdet.export_voc")

with logged(snakemake.log[0]):
    labels, params = list(snakemake.input), snakemake.params
    counts = voc_format.export_voc(labels, snakemake.output.voc, params.empty_images, params.split)
    log.info("voc: %s", counts)
    counts = voc_format.export_edge_impulse(
        labels, snakemake.output.edge_impulse, params.empty_images, params.split
    )
    log.info("edge_impulse: %s", counts)
