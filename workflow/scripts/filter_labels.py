import logging

from synthdet.core.entry import logged
from synthdet.label import label_filter

log = logging.getLogger("synthdet.filter_labels")

with logged(snakemake.log[0]):
    result = label_filter.filter_part(
        dict(snakemake.input.items()),
        snakemake.output[0],
        snakemake.params.thresholds,
        snakemake.wildcards.dataset,
        int(snakemake.wildcards.part),
    )
    log.info("%d items, %d objects", len(result["items"]), result["objects"])
