import logging

from synthdet.core.atomic import write_json
from synthdet.core.entry import logged
from synthdet.report import summary

log = logging.getLogger("synthdet.summarize_dataset")

with logged(snakemake.log[0]):
    stages = [name for name in ("images", "videos", "frames") if name in snakemake.input.keys()]
    result = summary.summarize(
        snakemake.wildcards.dataset,
        snakemake.input.prompts,
        {stage: list(snakemake.input[stage]) for stage in stages},
        snakemake.params.dataset_items,
        list(snakemake.input.labels),
    )
    # A folder per format; a list of them (or of the files joining them) when sharded.
    exports = {
        name: snakemake.input[name] for name in ("voc", "edge_impulse", "coco", "mot", "yolo")
    }
    result["exports"] = {
        **{name: v if isinstance(v, str) else list(v) for name, v in exports.items()},
        "qa_contact_sheets": list(snakemake.input.sheets),
        "tracking_videos": list(snakemake.input.tracking_videos),
        "stats": snakemake.input.stats,
    }
    write_json(snakemake.output[0], result)
    log.info("%s", result)
