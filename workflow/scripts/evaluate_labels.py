import logging

from synthdet.core.atomic import write_json
from synthdet.core.entry import logged
from synthdet.report import evaluation

log = logging.getLogger("synthdet.evaluate_labels")

with logged(snakemake.log[0]):
    frames = list(snakemake.input.frames) if "frames" in snakemake.input.keys() else []
    result = evaluation.evaluate(list(snakemake.input.labels), list(snakemake.input.images), frames)
    write_json(snakemake.output[0], result)
    log.info("%s", result)
