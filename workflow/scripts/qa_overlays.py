import logging
from pathlib import Path

from synthdet.core.entry import logged
from synthdet.report import qa

log = logging.getLogger("synthdet.qa_overlays")

with logged(snakemake.log[0]):
    drawn = qa.overlays(
        snakemake.input[0],
        snakemake.output.overlays,
        Path(snakemake.output.sheet),
        snakemake.params.overlays,
    )
    log.info("%d overlays", drawn)
