# Which Cosmos release drives `generator: cosmos` datasets: a param of their generation.
RELEASE_PARAMS = partial(plan.generation_params, release=config["cosmos"]["release"])


# Each generation job first writes its seed's batch file (Cosmos's --batch_input_json,
# kept under batches/ for reading): one job per seed, not a batch job and a generation job.
rule text2image:
    input:
        rules.expand_prompts.output[0],
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
        gpu=of_dataset(plan.generation_gpus, "text2image"),
    params:
        generation=with_template(RELEASE_PARAMS, "text2image"),
    script:
        "../scripts/text2image.py"


rule video2world:
    input:
        prompts=rules.expand_prompts.output[0],
        images=rules.text2image.output.images,
        image_manifest=rules.text2image.output.manifest,
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
        gpu=of_dataset(plan.generation_gpus, "video2world"),
    params:
        prompts_per_seed=setting("video2world", "prompts_per_seed"),
        generation=with_template(RELEASE_PARAMS, "video2world"),
    script:
        "../scripts/video2world.py"
