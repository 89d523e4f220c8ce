import logging

from synthdet import exports
from synthdet.entry import logged

log = logging.getLogger("synthdet.export_coco")

with logged(snakemake):
    coco = exports.export_coco(
        list(snakemake.input),
        snakemake.output[0],
        snakemake.wildcards.dataset,
        snakemake.params.empty_images,
    )
    log.info("%d images, %d annotations", len(coco["images"]), len(coco["annotations"]))
