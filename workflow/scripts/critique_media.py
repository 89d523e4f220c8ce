import logging
import os

from synthdet.core.entry import logged
from synthdet.label import critic, media_critic

log = logging.getLogger("synthdet.critique_media")

with logged(snakemake.log[0]):
    # Site settings, deliberately not params: where the endpoint is and how patient or
    # parallel to be do not change a verdict, and the URL and key must never reach logs.
    settings = snakemake.config["datasets"][snakemake.wildcards.dataset]["critic"]
    request = snakemake.params.request
    send = critic.endpoint_sender(settings, request["model"], os.environ)
    log.info("asking %s (endpoint from $%s)", request["model"], settings["base_url_env"])
    media_critic.critique_batch(
        snakemake.input.manifest,
        snakemake.output[0],
        snakemake.wildcards.stage,
        request,
        critic.asker(send, snakemake.params.cache, settings),
        video_manifest=snakemake.input.get("videos"),
    )
