rule summarize_dataset:
    input:
        unpack(planned(plan.dataset_manifests)),
        unpack(planned(plan.export_outputs)),
        prompts=rules.expand_prompts.output[0],
        labels=planned(plan.dataset_labels),
        sheets=planned(plan.contact_sheets),
        tracking_videos=planned(plan.tracking_video_folders),
        stats="results/{dataset}/stats/stats.json",
    output:
        "results/{dataset}/summary.json",
    log:
        "logs/summarize_dataset/{dataset}.log",
    localrule: True
    conda:
        "../../envs/python.yaml"
    params:
        dataset_items=of_dataset(plan.dataset_items),
    script:
        "../scripts/summarize_dataset.py"
