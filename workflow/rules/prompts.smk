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
        planned(plan.augmented_inputs),
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
