import logging

from synthdet import labeling
from synthdet.entry import logged
from synthdet.gpus import gpu_lease

log = logging.getLogger("synthdet.detect_images")

# 0 (all boxes of an image in one SAM 2 call) on a first attempt; Snakemake leaves a
# zero resource out, hence the default. Retries after CUDA OOM ask for fewer.
boxes_per_call = snakemake.resources.get("sam2_boxes_per_call", 0)

with logged(snakemake) as stream, gpu_lease(1) as devices:
    labeling.use_devices(devices)
    log.info("SAM 2 boxes per call: %s", boxes_per_call or "all")
    labeling.label_images(
        snakemake.input.manifests,
        snakemake.output[0],
        {
            **snakemake.params.settings,
            "boxes_per_call": boxes_per_call,
            "classes": list(snakemake.params.classes),
        },
        # loaded once, and only when there is something to label
        lambda: labeling.load_models(snakemake.params.models, snakemake.params.classes),
        progress=stream,
    )
