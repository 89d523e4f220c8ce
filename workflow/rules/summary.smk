rule summarize_dataset:
    input:
        unpack(planned(plan.dataset_manifests)),
        prompts=rules.expand_prompts.output[0],
        labels=planned(plan.dataset_labels),
        voc=rules.export_voc.output.voc,
        edge_impulse=rules.export_voc.output.edge_impulse,
        coco=rules.export_coco.output[0],
        mot=rules.export_mot.output[0],
        yolo=rules.export_yolo.output[0],
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
