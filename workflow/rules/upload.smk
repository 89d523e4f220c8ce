# Opt-in, never part of the default run: `snakemake upload_to_edge_impulse`, or
# `snakemake results/<dataset>/uploads/edge_impulse.json` for one dataset.


rule upload_to_edge_impulse:
    input:
        expand("results/{dataset}/uploads/edge_impulse.json", dataset=DATASETS),


rule edge_impulse_upload:
    input:
        planned(plan.edge_impulse_folders),
    output:
        "results/{dataset}/uploads/edge_impulse.json",
    log:
        "logs/edge_impulse_upload/{dataset}.log",
    # The upload needs the internet: run it where Snakemake runs (a login node), not on a
    # compute node.
    localrule: True
    conda:
        "../../envs/python.yaml"
    script:
        "../scripts/edge_impulse_upload.py"
