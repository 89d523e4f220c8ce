rule summarize_dataset:
    input:
        unpack(get_dataset_manifests),
        prompts="results/{dataset}/prompts.json",
        labels=get_dataset_labels,
        voc="results/{dataset}/voc",
        edge_impulse="results/{dataset}/edge_impulse",
        coco="results/{dataset}/coco",
        mot="results/{dataset}/mot",
        yolo="results/{dataset}/yolo",
        sheets=get_contact_sheets,
        tracking_videos=get_tracking_videos,
        stats="results/{dataset}/stats/stats.json",
    output:
        "results/{dataset}/summary.json",
    log:
        "logs/summarize_dataset/{dataset}.log",
    localrule: True
    conda:
        "../../envs/python.yaml"
    params:
        dataset_items=get_dataset_items,
    script:
        "../scripts/summarize_dataset.py"
