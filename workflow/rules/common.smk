import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from synthdet.config import checked_config, config_source, makes_videos, seeds

# Validate once at start: a bad config stops here with the file and key named.
CHECKED_CONFIG, TEMPLATES = checked_config(config, config_source(workflow.configfiles))
config.update(CHECKED_CONFIG)
DATASETS = list(config["datasets"])


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_-]*",
    seed=r"\d+",


def dataset(wildcards):
    return config["datasets"][wildcards.dataset]


def get_prompt_spec(wildcards):
    """Only what shapes the prompts: editing classes must not regenerate anything."""
    template = TEMPLATES[wildcards.dataset]
    keys = ("template", "video_template", "variables", "sample")
    return {key: template[key] for key in keys if key in template}


def get_template_path(wildcards):
    return dataset(wildcards)["template"]


def get_generation(stage):
    """Params of a generation rule: every value that changes what is generated.

    Cosmos launch settings (config `cosmos:`) are site configuration, read by the
    script from the config, so moving a checkout or container regenerates nothing.
    """

    def generation(wildcards):
        ds = dataset(wildcards)
        job = {
            "generator": ds["generator"],
            "settings": ds[stage],
            "negative_prompt": TEMPLATES[wildcards.dataset].get("negative_prompt", ""),
        }
        if stage == "video2world":
            job["aspect_ratio"] = ds["text2image"]["aspect_ratio"]
        if ds["generator"] == "procedural":
            job["classes"] = TEMPLATES[wildcards.dataset]["classes"]
            job["procedural"] = ds["procedural"]
        return job

    return generation


def get_text2image_gpus(wildcards):
    return 1 if dataset(wildcards)["generator"] == "cosmos" else 0


def get_video2world_gpus(wildcards):
    ds = dataset(wildcards)
    return ds["video2world"]["num_gpus"] if ds["generator"] == "cosmos" else 0


def get_prompts_per_seed(wildcards):
    return dataset(wildcards)["video2world"]["prompts_per_seed"]


def get_frames_fps(wildcards):
    return dataset(wildcards)["frames"]["fps"]


def get_dataset_manifests(wildcards):
    ds = dataset(wildcards)
    stages = ["images"] + (["videos", "frames"] if makes_videos(ds) else [])
    return {
        stage: expand(
            "results/{dataset}/{stage}/seed{seed}.manifest.json",
            dataset=wildcards.dataset,
            stage=stage,
            seed=seeds(ds),
        )
        for stage in stages
    }


def get_dataset_items(wildcards):
    ds = dataset(wildcards)
    return {"images": ds["images"], "frames": makes_videos(ds)}
