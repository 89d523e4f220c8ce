import logging

from synthdet.core.entry import logged
from synthdet.export import yolo_format

log = logging.getLogger("synthdet.yolo_data_yaml")

with logged(snakemake.log[0]):
    for task in ("detect", "segment"):
        yolo_format.write_sharded_data_yaml(list(snakemake.input), task, snakemake.output[task])
    log.info("data.yaml of %d shards", len(snakemake.input))
