from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


# Locally `gpu` caps concurrent GPU jobs (profiles/default sets gpu=1); on a cluster
# each job gets its own GPUs from the scheduler, so the cap must not throttle submission.
resource_scopes:
    gpu="local",


include: "workflow/rules/common.smk"
include: "workflow/rules/prompts.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/frames.smk"
include: "workflow/rules/critic.smk"
include: "workflow/rules/label.smk"
include: "workflow/rules/export.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/upload.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/tune.smk"


# A real run (never a dry run) stops here, before any job, when a planned Cosmos job
# lacks its site settings: the shipped config names the key instead of failing mid-run.
onstart:
    check_site_settings(
        config,
        config_source(workflow.configfiles),
        [(job.rule.name, job.wildcards.get("dataset")) for job in workflow.dag.needrun_jobs()],
    )


rule all:
    default_target: True
    input:
        expand("results/{dataset}/summary.json", dataset=DATASETS),
        expand("results/{dataset}/tune/index.html", dataset=DATASETS),
