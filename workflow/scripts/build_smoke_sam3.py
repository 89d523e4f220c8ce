import logging
import sys

from synthdet.core.entry import logged
from synthdet.label.sam3_env import run_in_sam3_env

log = logging.getLogger("synthdet.build_smoke_sam3")

with logged(snakemake.log[0]):
    # Needs transformers 5: outside its conda env, this script reruns under .venv-sam3.
    run_in_sam3_env(sys.argv[0])
    from synthdet.label.sam3_smoke import WARNING, build_sam3

    build_sam3(snakemake.output[0])
    log.warning("SAM 3 %s", WARNING)
