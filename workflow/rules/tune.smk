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
        sample_size=get_tune_items,
        procedural=is_procedural,
    script:
        "../scripts/tune_page.py"
