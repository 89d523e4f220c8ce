from synthdet.entry import logged
from synthdet.video_labeling import label_videos
from synthdet.label_jobs import run_job

with logged(snakemake) as stream:
    run_job(
        label_videos,
        snakemake.input.manifests,
        snakemake.output[0],
        snakemake.params.settings,
        snakemake.params.models,
        snakemake.params.classes,
        # Snakemake leaves a zero resource out, hence the default (0: all boxes at once).
        snakemake.resources.get("sam2_boxes_per_call", 0),
        progress=stream,
    )
