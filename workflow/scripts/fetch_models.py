import sys

from synthdet.core.entry import logged
from synthdet.setup import fetch_models

with logged(snakemake.log[0]):
    fetch_models.fetch_all(snakemake.params.models, snakemake.params.pins, sys.stdout)
