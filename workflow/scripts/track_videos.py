from synthdet import labeling

labeling.run_job(snakemake, labeling.label_videos)
