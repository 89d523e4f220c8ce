import logging

from synthdet.core.entry import logged
from synthdet.report import tune

log = logging.getLogger("synthdet.tune_page")

with logged(snakemake.log[0]):
    inputs = snakemake.input
    candidates = tune.by_part({kind: list(inputs.get(kind, [])) for kind in ("images", "frames")})
    manifests = None
    if snakemake.params.procedural:
        manifests = {
            kind: list(inputs.get(f"{kind}_manifests", [])) for kind in ("images", "frames")
        }
    # Where the page's controls start: read here, not a param, so a threshold change does not
    # rebuild the page (its candidates are unchanged); --forcerun tune_page refreshes it.
    dataset = snakemake.config["datasets"][snakemake.wildcards.dataset]
    thresholds = dataset["labeling"]["thresholds"]
    result = tune.write_page(
        snakemake.output[0],
        snakemake.wildcards.dataset,
        candidates,
        thresholds,
        snakemake.params.sample_size,
        manifests,
        dataset["labeling"]["candidate_floor"],
        list(inputs.validated) if "validated" in inputs.keys() else None,
    )
    log.info("%d of %d images and frames sampled", result["sampled"], result["units"])
