# Each generation job first writes its seed's batch file (Cosmos's --batch_input_json,
# kept under batches/ for reading): one job per seed, not a batch job and a generation job.
rule text2image:
    input:
        "results/{dataset}/prompts.json",
    output:
        batch="results/{dataset}/batches/text2image/seed{seed}.json",
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
        prompts="results/{dataset}/prompts.json",
        images="results/{dataset}/images/seed{seed}",
        image_manifest="results/{dataset}/images/seed{seed}.manifest.json",
    output:
        batch="results/{dataset}/batches/video2world/seed{seed}.json",
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
        prompts_per_seed=lookup(
            dpath="datasets/{dataset}/video2world/prompts_per_seed", within=config
        ),
        generation=get_generation("video2world"),
    script:
        "../scripts/video2world.py"
