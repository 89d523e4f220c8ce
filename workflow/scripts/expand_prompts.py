import logging

from synthdet import templates
from synthdet.atomic import write_json
from synthdet.entry import logged

log = logging.getLogger("synthdet.expand_prompts")

with logged(snakemake):
    prompts = templates.expand(
        snakemake.params.spec, snakemake.params.max_prompts, snakemake.params.template_path
    )
    write_json(
        snakemake.output[0],
        {
            "dataset": snakemake.wildcards.dataset,
            "template": snakemake.params.template_path,
            "prompts": prompts,
        },
    )
    log.info("%d prompts", len(prompts))
