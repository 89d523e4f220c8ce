rule expand_prompts:
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
