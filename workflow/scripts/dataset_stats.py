import logging

from synthdet.core.entry import logged
from synthdet.report import stats

log = logging.getLogger("synthdet.dataset_stats")

with logged(snakemake.log[0]):
    stages = [s for s in ("images", "videos", "frames") if s in snakemake.input.keys()]
    result = stats.dataset_stats(
        list(snakemake.input.labels),
        {stage: list(snakemake.input[stage]) for stage in stages},
        snakemake.input.evaluation[0] if snakemake.input.evaluation else None,
        {
            "json": snakemake.output.json,
            "csv": snakemake.output.csv,
            "plot": snakemake.output.plot,
        },
    )
    log.info("%d objects", result["objects"])
