# Opt-in, never part of the default run: `snakemake fetch_models` downloads the model files
# the config's `models:` names (those with a pin in workflow/model_pins.yaml) into
# `models.folder`. It needs the internet: run it on a login node (docs/models.md).

MODEL_PINS = config["models"].get("pins") or str(
    Path(workflow.basedir) / "workflow" / "model_pins.yaml"
)


localrules:
    fetch_models,


rule fetch_models:
    log:
        "logs/fetch_models.log",
    # huggingface_hub comes with transformers in the labeling env.
    conda:
        "../../envs/label.yaml"
    params:
        models=config["models"],
        pins=MODEL_PINS,
    script:
        "../scripts/fetch_models.py"
