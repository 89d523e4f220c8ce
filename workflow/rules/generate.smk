rule text2image:
    input:
        "results/{dataset}/batches/text2image/seed{seed}.json",
    output:
        images=directory("results/{dataset}/images/seed{seed}"),
        manifest="results/{dataset}/images/seed{seed}.manifest.json",
    log:
        "logs/text2image/{dataset}/seed{seed}.log",
    benchmark:
        "benchmarks/text2image/{dataset}/seed{seed}.tsv"
    conda:
        "../../envs/generate.yaml"
    resources:
        gpu=get_text2image_gpus,
    params:
        generation=get_generation("text2image"),
    script:
        "../scripts/text2image.py"


rule video2world:
    input:
        batch="results/{dataset}/batches/video2world/seed{seed}.json",
        images="results/{dataset}/images/seed{seed}",
        image_manifest="results/{dataset}/images/seed{seed}.manifest.json",
    output:
        videos=directory("results/{dataset}/videos/seed{seed}"),
        manifest="results/{dataset}/videos/seed{seed}.manifest.json",
    log:
        "logs/video2world/{dataset}/seed{seed}.log",
    benchmark:
        "benchmarks/video2world/{dataset}/seed{seed}.tsv"
    conda:
        "../../envs/generate.yaml"
    resources:
        gpu=get_video2world_gpus,
    params:
        generation=get_generation("video2world"),
    script:
        "../scripts/video2world.py"
