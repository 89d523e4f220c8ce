import logging

from synthdet import label_filter
from synthdet.entry import logged

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
