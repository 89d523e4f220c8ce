from synthdet.core.entry import logged
from synthdet.label.image_labeling import label_images
from synthdet.label.label_jobs import run_job
from synthdet.label.video_labeling import label_videos

# The two GPU labeling rules differ only in what they label.
LABEL = {"detect_images": label_images, "track_videos": label_videos}

with logged(snakemake.log[0]) as stream:
    run_job(
        LABEL[snakemake.rule],
        snakemake.input.manifests,
        snakemake.output[0],
        snakemake.params.settings,
        snakemake.params.models,
        snakemake.params.classes,
        # Snakemake leaves a zero resource out, hence the default (0: all boxes at once).
        snakemake.resources.get("sam2_boxes_per_call", 0),
        progress=stream,
    )
