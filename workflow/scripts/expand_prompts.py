import logging

from synthdet.core.atomic import read_json, write_json
from synthdet.core.entry import logged
from synthdet.setup import augment, templates

log = logging.getLogger("synthdet.expand_prompts")

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    spec = snakemake.params.spec
    # The size was checked against max_prompts when the config was read.
    prompts = templates.expand(spec, f"datasets.{dataset}.template")
    if snakemake.input:
        record = read_json(snakemake.input[0])
        prompts = augment.augmented_prompts(
            prompts, record, "video_template" in spec, snakemake.input[0]
        )
        log.info("%d LLM variations of the template's prompts", len(prompts))
    write_json(snakemake.output[0], {"dataset": dataset, "prompts": prompts})
    log.info("%d prompts", len(prompts))
