import logging
import os

from synthdet.core.atomic import write_json
from synthdet.core.entry import logged
from synthdet.export import edge_impulse

log = logging.getLogger("synthdet.edge_impulse_upload")

with logged(snakemake.log[0]) as stream:
    record = edge_impulse.upload(
        snakemake.input[0], snakemake.config["edge_impulse"], os.environ, stream
    )
    write_json(snakemake.output[0], record)
    for split, outcome in record["splits"].items():
        log.info(
            "%s: %d uploaded, %d skipped", split, len(outcome["uploaded"]), len(outcome["skipped"])
        )
