import sys

from synthdet.core.entry import logged
from synthdet.label.job_settings import label_settings
from synthdet.label.label_job import run_job
from synthdet.label.sam3_env import run_in_sam3_env

# The two GPU labeling rules differ only in what they label.
KIND = {"detect_images": "images", "track_videos": "videos"}

with logged(snakemake.log[0]) as stream:
    if snakemake.params.models["detector"]["backend"] == "sam3":
        # Needs transformers 5: outside its conda env, this script reruns under .venv-sam3.
        run_in_sam3_env(sys.argv[0])
    kind = KIND[snakemake.rule]
    # Snakemake leaves a zero resource out, hence the default (0: all boxes at once).
    boxes_per_call = snakemake.resources.get("sam2_boxes_per_call", 0)
    # Only detect_images has it: video keyframes go through the detector one by one.
    batch_size = snakemake.resources.get("label_batch_size", 1)
    run_job(
        kind,
        snakemake.input.manifests,
        snakemake.output[0],
        label_settings(kind, snakemake.params.settings, boxes_per_call, batch_size),
        snakemake.params.models,
        snakemake.params.classes,
        progress=stream,
    )
