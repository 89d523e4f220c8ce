rule tune_page:
    input:
        unpack(get_tune_input),
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
        procedural=is_procedural,
    script:
        "../scripts/tune_page.py"
