import logging

from synthdet import templates
from synthdet.atomic import write_json
from synthdet.entry import logged

log = logging.getLogger("synthdet.expand_prompts")

with logged(snakemake):
    dataset = snakemake.wildcards.dataset
    # The size was checked against max_prompts when the config was read.
    prompts = templates.expand(snakemake.params.spec, f"datasets.{dataset}.template")
    write_json(snakemake.output[0], {"dataset": dataset, "prompts": prompts})
    log.info("%d prompts", len(prompts))
