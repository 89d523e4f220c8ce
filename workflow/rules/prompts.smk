# A localrule: it runs where Snakemake runs (a cluster's login node, which usually has
# the network that compute nodes lack), and it only waits for an HTTP answer.
rule augment_prompts:
    output:
        "results/{dataset}/augmented.json",
    log:
        "logs/augment_prompts/{dataset}.log",
    localrule: True
    conda:
        "../../envs/augment.yaml"
    params:
        spec=get_prompt_spec,
        request=get_augment_request,
    script:
        "../scripts/augment_prompts.py"


rule expand_prompts:
    input:
        get_augmented,
    output:
        "results/{dataset}/prompts.json",
    log:
        "logs/expand_prompts/{dataset}.log",
    localrule: True
    conda:
        "../../envs/python.yaml"
    params:
        spec=get_prompt_spec,
    script:
        "../scripts/expand_prompts.py"


rule text2image_batch:
    input:
        "results/{dataset}/prompts.json",
    output:
        "results/{dataset}/batches/text2image/seed{seed}.json",
    log:
        "logs/text2image_batch/{dataset}/seed{seed}.log",
    localrule: True
    conda:
        "../../envs/python.yaml"
    params:
        image_dir="results/{dataset}/images/seed{seed}",
    script:
        "../scripts/text2image_batch.py"


rule video2world_batch:
    input:
        prompts="results/{dataset}/prompts.json",
        images="results/{dataset}/images/seed{seed}.manifest.json",
    output:
        "results/{dataset}/batches/video2world/seed{seed}.json",
    log:
        "logs/video2world_batch/{dataset}/seed{seed}.log",
    localrule: True
    conda:
        "../../envs/python.yaml"
    params:
        video_dir="results/{dataset}/videos/seed{seed}",
        prompts_per_seed=get_prompts_per_seed,
    script:
        "../scripts/video2world_batch.py"
