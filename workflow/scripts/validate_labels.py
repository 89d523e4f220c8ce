import logging
import os

from synthdet.core.entry import logged
from synthdet.label import critic, label_validator

log = logging.getLogger("synthdet.validate_labels")

with logged(snakemake.log[0]):
    # Site settings, not params: see critique_media.py.
    settings = snakemake.config["datasets"][snakemake.wildcards.dataset]["critic"]
    request = snakemake.params.request
    send = critic.endpoint_sender(settings, request["model"], os.environ)
    log.info("asking %s (endpoint from $%s)", request["model"], settings["base_url_env"])
    label_validator.validate_part(
        snakemake.input[0],
        snakemake.output[0],
        request,
        critic.asker(send, snakemake.params.cache, settings),
    )
