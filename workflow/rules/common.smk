import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from synthdet.setup.augment import request_settings as augment_request
from synthdet.setup.config import (
    check_site_settings,
    checked_config,
    config_source,
    makes_videos,
    seeds,
)
from synthdet.core.retries import boxes_per_call

# Validate once at start: a bad config stops here with the file and key named.
CHECKED_CONFIG, TEMPLATES = checked_config(config, config_source(workflow.configfiles))
config.update(CHECKED_CONFIG)
DATASETS = list(config["datasets"])


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_-]*",
    seed=r"\d+",
    part=r"\d+",


def dataset(wildcards):
    return config["datasets"][wildcards.dataset]


def get_prompt_spec(wildcards):
    """Only what shapes the prompts: editing classes must not regenerate anything."""
    template = TEMPLATES[wildcards.dataset]
    keys = ("template", "video_template", "variables", "sample")
    return {key: template[key] for key in keys if key in template}


def get_augmented(wildcards):
    """expand_prompts reads the LLM's variations when the dataset has `augment:`."""
    if "augment" not in dataset(wildcards):
        return []
    return [f"results/{wildcards.dataset}/augmented.json"]


def get_augment_request(wildcards):
    """What decides the LLM's answer (a rerun trigger). Endpoint and key are not here."""
    if "augment" not in dataset(wildcards):
        raise ValueError(f"datasets.{wildcards.dataset} has no augment: block")
    return augment_request(dataset(wildcards)["augment"], TEMPLATES[wildcards.dataset]["classes"])


def get_generation(stage):
    """Params of a generation rule: every value that changes what is generated.

    Cosmos launch settings (config `cosmos:`) are site configuration, read by the
    script from the config, so moving a checkout or container regenerates nothing.
    """

    def generation(wildcards):
        ds = dataset(wildcards)
        # Not what is generated: which prompts (the batch file says) and how many GPUs.
        settings = {k: v for k, v in ds[stage].items() if k not in ("prompts_per_seed", "num_gpus")}
        job = {
            "generator": ds["generator"],
            "settings": settings,
            "negative_prompt": TEMPLATES[wildcards.dataset].get("negative_prompt", ""),
        }
        if stage == "video2world":
            job["aspect_ratio"] = ds["text2image"]["aspect_ratio"]
        if ds["generator"] == "procedural":
            job["classes"] = TEMPLATES[wildcards.dataset]["classes"]
            procedural = ds["procedural"]
            job["procedural"] = (
                procedural if stage == "video2world" else {"width": procedural["width"]}
            )
        return job

    return generation


def get_text2image_gpus(wildcards):
    return 1 if dataset(wildcards)["generator"] == "cosmos" else 0


def get_video2world_gpus(wildcards):
    ds = dataset(wildcards)
    return ds["video2world"]["num_gpus"] if ds["generator"] == "cosmos" else 0


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


def labeling(wildcards):
    return dataset(wildcards)["labeling"]


def parts(ds):
    """Labeling parts: part k holds seeds k*n .. k*n+n-1 (n = batches_per_job), so
    adding seeds anywhere never moves a seed to another part."""
    per_job = ds["labeling"]["batches_per_job"]
    return sorted({seed // per_job for seed in seeds(ds)})


def part_seeds(wildcards):
    ds = dataset(wildcards)
    per_job = ds["labeling"]["batches_per_job"]
    return [s for s in seeds(ds) if s // per_job == int(wildcards.part)]


def get_smoke_models(wildcards):
    return ["results/smoke_models"] if labeling(wildcards)["smoke_models"] else []


def get_label_input(stage):
    """Inputs of a GPU labeling job: the `stage` (images or frames) of its part's seeds."""

    def label_input(wildcards):
        part = {
            "dataset": wildcards.dataset,
            "stage": stage,
            "seed": part_seeds(wildcards),
        }
        return {
            "manifests": expand("results/{dataset}/{stage}/seed{seed}.manifest.json", **part),
            stage: expand("results/{dataset}/{stage}/seed{seed}", **part),
            "smoke_models": get_smoke_models(wildcards),
        }

    return label_input


SMOKE_MODELS = {
    "groundingdino": {
        "backend": "groundingdino",
        "config": "results/smoke_models/groundingdino/groundingdino_smoke.py",
        "checkpoint": "results/smoke_models/groundingdino/groundingdino_smoke.pth",
        "text_encoder": "results/smoke_models/bert",
        "image_size": 256,
    },
    "transformers": {
        "backend": "transformers",
        "model_dir": "results/smoke_models/transformers",
        "image_size": 256,
    },
}


def get_label_models(wildcards):
    """The models a GPU labeling job loads: a param, since they decide the labels."""
    models = config["models"]
    if not labeling(wildcards)["smoke_models"]:
        return models
    return {
        "smoke": True,
        "device": models["device"],
        "detector": SMOKE_MODELS[models["detector"]["backend"]],
        "sam2": {
            "config": "results/smoke_models/sam2/sam2_smoke.yaml",
            "checkpoint": "results/smoke_models/sam2/sam2_smoke.pt",
        },
    }


def get_classes(wildcards):
    return TEMPLATES[wildcards.dataset]["classes"]


def get_candidate_settings(kind):
    def settings(wildcards):
        lab = labeling(wildcards)
        chosen = {
            "candidate_floor": lab["candidate_floor"],
            "max_candidates": lab["max_candidates"],
        }
        return {**chosen, **lab["video"]} if kind == "frames" else chosen

    return settings


def get_filter_input(wildcards):
    ds = dataset(wildcards)
    kinds = (["images"] if ds["images"] else []) + (["frames"] if makes_videos(ds) else [])
    return {
        kind: f"results/{wildcards.dataset}/candidates/{kind}/part{wildcards.part}.json"
        for kind in kinds
    }


def get_dataset_labels(wildcards):
    return expand(
        "results/{dataset}/labels/part{part}.json",
        dataset=wildcards.dataset,
        part=parts(dataset(wildcards)),
    )


def is_procedural(wildcards):
    return dataset(wildcards)["generator"] == "procedural"


def get_evaluation(wildcards):
    return (
        [f"results/{wildcards.dataset}/stats/evaluation.json"] if is_procedural(wildcards) else []
    )


def get_contact_sheets(wildcards):
    return expand(
        "results/{dataset}/qa/part{part}.jpg",
        dataset=wildcards.dataset,
        part=parts(dataset(wildcards)),
    )


def get_tracking_videos(wildcards):
    """Annotated tracking videos, one folder per labeling part, for datasets with videos."""
    if not makes_videos(dataset(wildcards)):
        return []
    return expand(
        "results/{dataset}/qa/videos/part{part}",
        dataset=wildcards.dataset,
        part=parts(dataset(wildcards)),
    )


def get_sam2_boxes_per_call(wildcards, attempt):
    """A resource, not a param: a retry after CUDA out-of-memory uses smaller SAM 2 calls
    (0 means all boxes of an image in one call) without being a rerun trigger."""
    return boxes_per_call(attempt)


def get_tune_input(wildcards):
    """The tuning page reads candidates, never labels: a threshold change keeps every
    candidate it shows. Procedural datasets add their manifests for the ground truth."""
    ds = dataset(wildcards)
    inputs = {
        kind: expand(
            "results/{dataset}/candidates/{kind}/part{part}.json",
            dataset=wildcards.dataset,
            kind=kind,
            part=parts(ds),
        )
        for kind in (["images"] if ds["images"] else []) + (["frames"] if makes_videos(ds) else [])
    }
    if is_procedural(wildcards):
        manifests = get_dataset_manifests(wildcards)
        inputs["images_manifests"] = manifests["images"]
        inputs["frames_manifests"] = manifests.get("frames", [])
    return inputs
