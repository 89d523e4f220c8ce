rule smoke_models:
    output:
        directory("results/smoke_models"),
    log:
        "logs/smoke_models/smoke_models.log",
    conda:
        "../../envs/label.yaml"
    script:
        "../scripts/build_smoke_models.py"


# SAM 3's smoke model needs transformers 5: its own rule, env and folder.
rule smoke_sam3:
    output:
        directory("results/smoke_sam3"),
    log:
        "logs/smoke_sam3/smoke_sam3.log",
    conda:
        "../../envs/label-sam3.yaml"
    script:
        "../scripts/build_smoke_sam3.py"


rule detect_images:
    input:
        unpack(in_part(plan.label_inputs, "images")),
        smoke_sam3=get_sam3_smoke_inputs,
    output:
        "results/{dataset}/candidates/images/part{part}.json",
    log:
        "logs/detect_images/{dataset}/part{part}.log",
    benchmark:
        "benchmarks/detect_images/{dataset}/part{part}.tsv"
    retries: 2
    conda:
        get_label_env
    threads: 2
    resources:
        gpu=1,
        sam2_boxes_per_call=get_sam2_boxes_per_call,
        label_batch_size=get_label_batch_size,
    params:
        models=get_label_models,
        classes=get_classes,
        settings=of_dataset(plan.candidate_settings, "images"),
    script:
        "../scripts/label_part.py"


rule track_videos:
    input:
        unpack(in_part(plan.label_inputs, "frames")),
        smoke_sam3=get_sam3_smoke_inputs,
    output:
        "results/{dataset}/candidates/frames/part{part}.json",
    log:
        "logs/track_videos/{dataset}/part{part}.log",
    benchmark:
        "benchmarks/track_videos/{dataset}/part{part}.tsv"
    retries: 2
    conda:
        get_label_env
    threads: 2
    resources:
        gpu=1,
        sam2_boxes_per_call=get_sam2_boxes_per_call,
    params:
        models=get_label_models,
        classes=get_classes,
        settings=of_dataset(plan.candidate_settings, "frames"),
    script:
        "../scripts/label_part.py"


rule filter_labels:
    input:
        unpack(in_part(plan.filter_inputs)),
    output:
        "results/{dataset}/labels/part{part}.json",
    log:
        "logs/filter_labels/{dataset}/part{part}.log",
    conda:
        "../../envs/label.yaml"
    params:
        thresholds=setting("labeling", "thresholds"),
    script:
        "../scripts/filter_labels.py"
