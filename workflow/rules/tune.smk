rule tune_page:
    input:
        unpack(planned(plan.tune_inputs)),
    output:
        report(
            "results/{dataset}/tune/index.html",
            caption="../report/tune.rst",
            category="{dataset}",
            subcategory="Tune thresholds",
            labels={"file": "tune/index.html"},
        ),
    log:
        "logs/tune_page/{dataset}.log",
    conda:
        "../../envs/export.yaml"
    params:
        sample_size=lookup(dpath="datasets/{dataset}/tune/items", within=config),
        procedural=of_dataset(plan.is_procedural),
    script:
        "../scripts/tune_page.py"
