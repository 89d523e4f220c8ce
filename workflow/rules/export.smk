rule export_voc:
    input:
        planned(plan.dataset_labels),
    output:
        voc=directory("results/{dataset}/voc"),
        edge_impulse=directory("results/{dataset}/edge_impulse"),
    log:
        "logs/export_voc/{dataset}.log",
    conda:
        "../../envs/export.yaml"
    params:
        empty_images=lookup(dpath="datasets/{dataset}/exports/empty_images", within=config),
        split=lookup(dpath="datasets/{dataset}/exports/split", within=config),
    script:
        "../scripts/export_voc.py"


rule export_coco:
    input:
        planned(plan.dataset_labels),
    output:
        directory("results/{dataset}/coco"),
    log:
        "logs/export_coco/{dataset}.log",
    conda:
        "../../envs/export.yaml"
    params:
        empty_images=lookup(dpath="datasets/{dataset}/exports/empty_images", within=config),
        split=lookup(dpath="datasets/{dataset}/exports/split", within=config),
    script:
        "../scripts/export_coco.py"


rule export_mot:
    input:
        planned(plan.dataset_labels),
    output:
        directory("results/{dataset}/mot"),
    log:
        "logs/export_mot/{dataset}.log",
    conda:
        "../../envs/export.yaml"
    params:
        empty_images=lookup(dpath="datasets/{dataset}/exports/empty_images", within=config),
        split=lookup(dpath="datasets/{dataset}/exports/split", within=config),
        fps=lookup(dpath="datasets/{dataset}/frames/fps", within=config),
    script:
        "../scripts/export_mot.py"


rule export_yolo:
    input:
        planned(plan.dataset_labels),
    output:
        directory("results/{dataset}/yolo"),
    log:
        "logs/export_yolo/{dataset}.log",
    conda:
        "../../envs/export.yaml"
    params:
        empty_images=lookup(dpath="datasets/{dataset}/exports/empty_images", within=config),
        split=lookup(dpath="datasets/{dataset}/exports/split", within=config),
    script:
        "../scripts/export_yolo.py"


# A dataset with exports.shard_parts exports each shard of labeling parts in its own jobs,
# into <format>/shard<N>/ (the same scripts; plan.export_outputs says which rules run).
rule export_voc_shard:
    input:
        in_shard(plan.shard_labels),
    output:
        voc=directory("results/{dataset}/voc/shard{shard}"),
        edge_impulse=directory("results/{dataset}/edge_impulse/shard{shard}"),
    log:
        "logs/export_voc/{dataset}/shard{shard}.log",
    conda:
        "../../envs/export.yaml"
    params:
        empty_images=lookup(dpath="datasets/{dataset}/exports/empty_images", within=config),
        split=lookup(dpath="datasets/{dataset}/exports/split", within=config),
    script:
        "../scripts/export_voc.py"


rule export_coco_shard:
    input:
        in_shard(plan.shard_labels),
    output:
        directory("results/{dataset}/coco/shard{shard}"),
    log:
        "logs/export_coco/{dataset}/shard{shard}.log",
    conda:
        "../../envs/export.yaml"
    params:
        empty_images=lookup(dpath="datasets/{dataset}/exports/empty_images", within=config),
        split=lookup(dpath="datasets/{dataset}/exports/split", within=config),
    script:
        "../scripts/export_coco.py"


rule merge_coco:
    input:
        planned(plan.shard_folders, "coco"),
    output:
        train="results/{dataset}/coco/annotations/instances_train.json",
        test="results/{dataset}/coco/annotations/instances_test.json",
    log:
        "logs/merge_coco/{dataset}.log",
    conda:
        "../../envs/python.yaml"
    script:
        "../scripts/merge_coco.py"


rule export_mot_shard:
    input:
        in_shard(plan.shard_labels),
    output:
        directory("results/{dataset}/mot/shard{shard}"),
    log:
        "logs/export_mot/{dataset}/shard{shard}.log",
    conda:
        "../../envs/export.yaml"
    params:
        empty_images=lookup(dpath="datasets/{dataset}/exports/empty_images", within=config),
        split=lookup(dpath="datasets/{dataset}/exports/split", within=config),
        fps=lookup(dpath="datasets/{dataset}/frames/fps", within=config),
    script:
        "../scripts/export_mot.py"


rule export_yolo_shard:
    input:
        in_shard(plan.shard_labels),
    output:
        directory("results/{dataset}/yolo/shard{shard}"),
    log:
        "logs/export_yolo/{dataset}/shard{shard}.log",
    conda:
        "../../envs/export.yaml"
    params:
        empty_images=lookup(dpath="datasets/{dataset}/exports/empty_images", within=config),
        split=lookup(dpath="datasets/{dataset}/exports/split", within=config),
    script:
        "../scripts/export_yolo.py"


rule yolo_data_yaml:
    input:
        planned(plan.shard_folders, "yolo"),
    output:
        detect="results/{dataset}/yolo/detect/data.yaml",
        segment="results/{dataset}/yolo/segment/data.yaml",
    log:
        "logs/yolo_data_yaml/{dataset}.log",
    conda:
        "../../envs/export.yaml"
    script:
        "../scripts/yolo_data_yaml.py"


rule qa_overlays:
    input:
        in_part(plan.part_labels),
    output:
        overlays=directory("results/{dataset}/qa/part{part}"),
        sheet=report(
            "results/{dataset}/qa/part{part}.jpg",
            caption="../report/contact_sheet.rst",
            category="{dataset}",
            subcategory="QA overlays",
            labels={"part": "{part}"},
        ),
    log:
        "logs/qa_overlays/{dataset}/part{part}.log",
    conda:
        "../../envs/export.yaml"
    params:
        overlays=lookup(dpath="datasets/{dataset}/exports/overlays_per_part", within=config),
    script:
        "../scripts/qa_overlays.py"


rule tracking_videos:
    input:
        in_part(plan.part_labels),
    output:
        report(
            directory("results/{dataset}/qa/videos/part{part}"),
            patterns=["{video}.mp4"],
            caption="../report/tracking_videos.rst",
            category="{dataset}",
            subcategory="Tracking videos",
        ),
    log:
        "logs/tracking_videos/{dataset}/part{part}.log",
    conda:
        "../../envs/export.yaml"
    params:
        fps=lookup(dpath="datasets/{dataset}/frames/fps", within=config),
    script:
        "../scripts/tracking_videos.py"


rule evaluate_labels:
    input:
        unpack(planned(plan.dataset_manifests)),
        labels=planned(plan.dataset_labels),
    output:
        "results/{dataset}/stats/evaluation.json",
    log:
        "logs/evaluate_labels/{dataset}.log",
    conda:
        "../../envs/export.yaml"
    script:
        "../scripts/evaluate_labels.py"


rule dataset_stats:
    input:
        unpack(planned(plan.dataset_manifests)),
        labels=planned(plan.dataset_labels),
        evaluation=planned(plan.evaluation_inputs),
    output:
        json=report(
            "results/{dataset}/stats/stats.json",
            caption="../report/stats.rst",
            category="{dataset}",
            subcategory="Statistics",
            labels={"file": "stats.json"},
        ),
        csv=report(
            "results/{dataset}/stats/per_class.csv",
            caption="../report/per_class.rst",
            category="{dataset}",
            subcategory="Statistics",
            labels={"file": "per_class.csv"},
        ),
        plot=report(
            "results/{dataset}/stats/plot.png",
            caption="../report/plot.rst",
            category="{dataset}",
            subcategory="Statistics",
            labels={"file": "plot.png"},
        ),
    log:
        "logs/dataset_stats/{dataset}.log",
    conda:
        "../../envs/export.yaml"
    script:
        "../scripts/dataset_stats.py"
