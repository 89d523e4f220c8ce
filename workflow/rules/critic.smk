# The vision-language critic (docs/critic.md): rules that exist only for datasets with a
# `critic:` block. Their answers are cached under results/<ds>/critic/cache/ (not an
# output: it outlives reruns), so a rerun asks the endpoint only what it never answered.
# `critic_jobs: local` runs them where Snakemake runs (a login node with the network).
if config["critic_jobs"] == "local":

    localrules:
        critique_media,
        validate_labels,


rule critique_media:
    input:
        unpack(get_critic_inputs),
    output:
        "results/{dataset}/critic/{stage}/seed{seed}.manifest.json",
    log:
        "logs/critique_media/{dataset}/{stage}/seed{seed}.log",
    wildcard_constraints:
        stage="images|frames",
    conda:
        "../../envs/critic.yaml"
    params:
        request=get_media_request,
        cache=planned(plan.critic_cache),
    script:
        "../scripts/critique_media.py"


rule validate_labels:
    input:
        in_part(plan.part_filtered_labels),
    output:
        "results/{dataset}/validated/part{part}.json",
    log:
        "logs/validate_labels/{dataset}/part{part}.log",
    conda:
        "../../envs/critic.yaml"
    params:
        request=get_validator_request,
        cache=planned(plan.critic_cache),
    script:
        "../scripts/validate_labels.py"
