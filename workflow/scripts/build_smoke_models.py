import logging

from synthdet import smoke_models
from synthdet.entry import logged

log = logging.getLogger("synthdet.build_smoke_models")

with logged(snakemake.log[0]):
    smoke_models.build_all(snakemake.output[0])
    log.warning(smoke_models.WARNING)
