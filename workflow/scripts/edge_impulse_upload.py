import logging
import os

from synthdet.core.atomic import write_json
from synthdet.core.entry import logged
from synthdet.export import edge_impulse

log = logging.getLogger("synthdet.edge_impulse_upload")

with logged(snakemake.log[0]) as stream:
    record = edge_impulse.upload_all(
        list(snakemake.input), snakemake.config["edge_impulse"], os.environ, stream
    )
    write_json(snakemake.output[0], record)
    for shard, shard_record in record.get("shards", {"": record}).items():
        for split, outcome in shard_record["splits"].items():
            log.info(
                "%s%s: %d uploaded, %d skipped",
                f"{shard}/" if shard else "",
                split,
                len(outcome["uploaded"]),
                len(outcome["skipped"]),
            )
