import logging
import os

from synthdet.core.atomic import write_json
from synthdet.core.entry import logged
from synthdet.setup import augment, templates

log = logging.getLogger("synthdet.augment_prompts")

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    # Site settings, deliberately not params: where the endpoint is and how patient to be
    # do not change the answer, and the URL and key must never reach params or logs.
    settings = snakemake.config["datasets"][dataset]["augment"]
    request = snakemake.params.request
    prompts = templates.expand(snakemake.params.spec, f"datasets.{dataset}.template")
    base_url, api_key = augment.endpoint(settings, os.environ)
    ask = augment.chat_asker(
        request["model"], base_url, api_key, settings["timeout"], settings["retries"]
    )
    # After the import (it applies OPENAI_LOG): keep the client to its retry notices.
    logging.getLogger("openai").setLevel(logging.INFO)
    log.info(
        "asking %s (endpoint from $%s) for %d variations of each of %d template prompts",
        request["model"],
        settings["base_url_env"],
        request["variations"],
        len(prompts),
    )
    try:
        record = augment.augment(prompts, request, ask, settings["retries"])
    except augment.AugmentError as error:
        raise augment.AugmentError(f"{error}; every answer is in {snakemake.log[0]}") from None
    write_json(snakemake.output[0], {"dataset": dataset, **record})
