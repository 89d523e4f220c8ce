import logging

from synthdet.core.entry import logged
from synthdet.label import smoke_models

log = logging.getLogger("synthdet.build_smoke_models")

with logged(snakemake.log[0]):
    smoke_models.build_all(snakemake.output[0])
    log.warning(smoke_models.WARNING)
