"""What the rules plan from a checked config: parts, seeds, the params that decide reruns, and
the per-dataset lists of inputs. Plain functions of a dataset's config (`ds`) and template, so
they are unit-tested here; workflow/rules/common.smk only wires them to wildcards.
"""

from ..core.smoke_files import SMOKE_MODELS_DIR, SMOKE_SAM3_DIR, smoke_model_files
from .augment import request_settings
from .config import makes_videos, seeds

RESULTS = "results/{dataset}"
STAGE_MANIFEST = RESULTS + "/{stage}/seed{seed}.manifest.json"
STAGE_FOLDER = RESULTS + "/{stage}/seed{seed}"
CANDIDATES = RESULTS + "/candidates/{kind}/part{part}.json"
LABELS = RESULTS + "/labels/part{part}.json"
CONTACT_SHEET = RESULTS + "/qa/part{part}.jpg"
TRACKING_VIDEOS = RESULTS + "/qa/videos/part{part}"
EVALUATION = RESULTS + "/stats/evaluation.json"
AUGMENTED = RESULTS + "/augmented.json"
CRITIC_MANIFEST = RESULTS + "/critic/{stage}/seed{seed}.manifest.json"
CRITIC_CACHE = RESULTS + "/critic/cache"
VALIDATED = RESULTS + "/validated/part{part}.json"
# The stages the media critic vets: images, and videos through their frames.
CRITIC_STAGES = ("images", "frames")
EXPORT = RESULTS + "/{export}"
EXPORT_SHARD = RESULTS + "/{export}/shard{shard}"
COCO_MERGED = RESULTS + "/coco/annotations/instances_{side}.json"
YOLO_DATA_YAML = RESULTS + "/yolo/{task}/data.yaml"
EXPORTS = ("voc", "edge_impulse", "coco", "mot", "yolo")

# The detector input size of the smoke detectors (their processors are built for it).
SMOKE_IMAGE_SIZE = 256

# What shapes the prompts: editing classes must not regenerate anything.
PROMPT_KEYS = ("template", "video_template", "variables", "sample")
# Not what is generated: which prompts (the batch file says) and how many GPUs.
LAUNCH_KEYS = ("prompts_per_seed", "num_gpus")


def prompt_spec(template):
    return {key: template[key] for key in PROMPT_KEYS if key in template}


def augmented_inputs(name, ds):
    """expand_prompts reads the LLM's variations when the dataset has `augment:`."""
    return [AUGMENTED.format(dataset=name)] if "augment" in ds else []


def augment_request(name, ds, template):
    """What decides the LLM's answer (a rerun trigger). Endpoint and key are not here."""
    if "augment" not in ds:
        raise ValueError(f"datasets.{name} has no augment: block")
    return request_settings(ds["augment"], template["classes"])


def generation_params(stage, ds, template, release="predict2"):
    """Params of a generation rule: every value that changes what is generated.

    Cosmos launch settings (config `cosmos:`) are site configuration, read by the script
    from the config, so moving a checkout or container regenerates nothing; only the
    release (`cosmos.release`, which model makes the images) is a param of cosmos datasets.
    """
    if ds["generator"] == "cosmos" and release == "predict2.5":
        return predict2_5_params(stage, ds, template)
    settings = {k: v for k, v in ds[stage].items() if k not in LAUNCH_KEYS}
    job = {
        "generator": ds["generator"],
        "settings": settings,
        "negative_prompt": template.get("negative_prompt", ""),
    }
    if stage == "video2world":
        job["aspect_ratio"] = ds["text2image"]["aspect_ratio"]
    if ds["generator"] == "procedural":
        job["classes"] = template["classes"]
        procedural = ds["procedural"]
        job["procedural"] = procedural if stage == "video2world" else {"width": procedural["width"]}
    return job


def predict2_5_params(stage, ds, template):
    """Predict2.5's settings for one step: one model and guidance for both, one frame for
    images (text2world), `num_output_frames` for videos (image2world)."""
    settings = dict(ds["predict2_5"])
    negative = settings.pop("negative_prompt")
    if stage == "text2image":
        settings["num_output_frames"] = 1
    return {
        "generator": "cosmos",
        "release": "predict2.5",
        "settings": settings,
        "negative_prompt": template.get("negative_prompt", "") if negative is None else negative,
    }


def generation_gpus(stage, ds):
    """GPUs of one generation job: Cosmos only (text2image one, video2world as configured)."""
    if ds["generator"] != "cosmos":
        return 0
    return 1 if stage == "text2image" else ds["video2world"]["num_gpus"]


def made_stages(ds):
    return ["images"] + (["videos", "frames"] if makes_videos(ds) else [])


def labeled_kinds(ds):
    """What the labeling jobs of a dataset read: images, frames of its videos, or both."""
    return (["images"] if ds["images"] else []) + (["frames"] if makes_videos(ds) else [])


def stage_paths(pattern, name, stage, seed_list):
    return [pattern.format(dataset=name, stage=stage, seed=seed) for seed in seed_list]


def has_media_critic(ds):
    return "critic" in ds and ds["critic"]["media"]["enabled"]


def has_validator(ds):
    return "critic" in ds and ds["critic"]["labels"]["enabled"]


def manifest_pattern(ds, stage):
    """Where later stages read a stage's manifests: the media critic's (rejected items
    marked) when the dataset has one, else the stage's own."""
    return CRITIC_MANIFEST if stage in critic_stages(ds) else STAGE_MANIFEST


def critic_stages(ds):
    """The stages the media critic vets: those the labeling jobs read."""
    return labeled_kinds(ds) if has_media_critic(ds) else []


def dataset_manifests(name, ds):
    return {
        stage: stage_paths(manifest_pattern(ds, stage), name, stage, seeds(ds))
        for stage in made_stages(ds)
    }


def dataset_items(ds):
    return {"images": ds["images"], "frames": makes_videos(ds)}


def parts(ds):
    """Labeling parts: part k holds seeds k*n .. k*n+n-1 (n = batches_per_job), so adding
    seeds anywhere never moves a seed to another part."""
    per_job = ds["labeling"]["batches_per_job"]
    return sorted({seed // per_job for seed in seeds(ds)})


def part_seeds(ds, part):
    per_job = ds["labeling"]["batches_per_job"]
    return [seed for seed in seeds(ds) if seed // per_job == int(part)]


def part_paths(pattern, name, ds, **fields):
    return [pattern.format(dataset=name, part=part, **fields) for part in parts(ds)]


def labels_pattern(ds):
    """The labels exports read: the validator's when the dataset has one."""
    return VALIDATED if has_validator(ds) else LABELS


def dataset_labels(name, ds):
    return part_paths(labels_pattern(ds), name, ds)


def part_labels(name, ds, part):
    return labels_pattern(ds).format(dataset=name, part=part)


def contact_sheets(name, ds):
    return part_paths(CONTACT_SHEET, name, ds)


def smoke_model_inputs(ds):
    return [SMOKE_MODELS_DIR] if ds["labeling"]["smoke_models"] else []


def label_inputs(stage, name, ds, part):
    """Inputs of a GPU labeling job: the `stage` (images or frames) of its part's seeds."""
    chosen = part_seeds(ds, part)
    return {
        "manifests": stage_paths(manifest_pattern(ds, stage), name, stage, chosen),
        stage: stage_paths(STAGE_FOLDER, name, stage, chosen),
        "smoke_models": smoke_model_inputs(ds),
    }


# models: keys only `fetch_models` reads (where it puts files, which pins it trusts): they
# decide no label, so they stay out of the labeling jobs' params (no rerun trigger).
FETCH_ONLY = ("folder", "pins")

# The conda env of the GPU labeling rules (paths from workflow/rules/): SAM 3 needs
# transformers 5, groundingdino-py transformers < 5.
LABEL_ENV = "../../envs/label.yaml"
LABEL_SAM3_ENV = "../../envs/label-sam3.yaml"


def uses_sam3(models):
    return models["detector"]["backend"] == "sam3"


def label_env(models):
    return LABEL_SAM3_ENV if uses_sam3(models) else LABEL_ENV


def sam3_smoke_inputs(models, ds):
    """The SAM 3 smoke model folder, when a smoke dataset labels with SAM 3."""
    return [SMOKE_SAM3_DIR] if ds["labeling"]["smoke_models"] and uses_sam3(models) else []


def label_models(models, ds):
    """The models a GPU labeling job loads: a param, since they decide the labels."""
    if not ds["labeling"]["smoke_models"]:
        return {key: value for key, value in models.items() if key not in FETCH_ONLY}
    files = {**smoke_model_files(), "sam3": {"model_dir": SMOKE_SAM3_DIR}}
    backend = models["detector"]["backend"]
    detector = {"backend": backend, **files[backend]}
    if backend == "groundingdino":
        detector["text_encoder"] = files["text_encoder"]
    detector["image_size"] = SMOKE_IMAGE_SIZE
    return {"smoke": True, "device": models["device"], "detector": detector, "sam2": files["sam2"]}


def candidate_settings(kind, ds):
    labeling = ds["labeling"]
    chosen = {
        "candidate_floor": labeling["candidate_floor"],
        "max_candidates": labeling["max_candidates"],
    }
    return {**chosen, **labeling["video"]} if kind == "frames" else chosen


def filter_inputs(name, ds, part):
    return {
        kind: CANDIDATES.format(dataset=name, kind=kind, part=part) for kind in labeled_kinds(ds)
    }


def is_procedural(ds):
    return ds["generator"] == "procedural"


def evaluation_inputs(name, ds):
    return [EVALUATION.format(dataset=name)] if is_procedural(ds) else []


def tracking_video_folders(name, ds):
    """Annotated tracking videos, one folder per labeling part, for datasets with videos."""
    return part_paths(TRACKING_VIDEOS, name, ds) if makes_videos(ds) else []


def tune_inputs(name, ds):
    """The tuning page reads candidates, never labels: a threshold change keeps every
    candidate it shows. Procedural datasets add their manifests for the ground truth."""
    inputs = {kind: part_paths(CANDIDATES, name, ds, kind=kind) for kind in labeled_kinds(ds)}
    if is_procedural(ds):
        manifests = dataset_manifests(name, ds)
        inputs["images_manifests"] = manifests["images"]
        inputs["frames_manifests"] = manifests.get("frames", [])
    if has_validator(ds):
        inputs["validated"] = part_paths(VALIDATED, name, ds)
    return inputs


def critic_inputs(name, ds, stage, seed):
    """What the media critic of one batch reads: its manifest and files (frames: also the
    videos' manifest, for their prompts)."""
    if stage not in CRITIC_STAGES:
        raise ValueError(f"the media critic vets {CRITIC_STAGES}, not {stage!r}")
    inputs = {
        "manifest": STAGE_MANIFEST.format(dataset=name, stage=stage, seed=seed),
        "folder": STAGE_FOLDER.format(dataset=name, stage=stage, seed=seed),
    }
    if stage == "frames":
        inputs["videos"] = STAGE_MANIFEST.format(dataset=name, stage="videos", seed=seed)
    return inputs


def critic_rule(critic, check):
    return {"min_score": critic[check]["min_score"], "unparsed": critic["unparsed"]}


def media_request(ds, default_prompt):
    """What decides the media critic's verdicts (a rerun trigger); the endpoint, key,
    concurrency, retries and timeout are read from the config by the script."""
    critic = ds["critic"]
    return {
        "model": critic["model"],
        "prompt": critic["media"].get("prompt", default_prompt),
        "video_frames": critic["media"]["video_frames"],
        "rule": critic_rule(critic, "media"),
    }


def validator_request(ds, default_prompt):
    critic = ds["critic"]
    return {
        "model": critic["model"],
        "prompt": critic["labels"].get("prompt", default_prompt),
        "context": critic["labels"]["context"],
        "mode": ds["labeling"]["thresholds"].get("validator", "off"),
        "rule": critic_rule(critic, "labels"),
    }


def part_filtered_labels(name, ds, part):
    """What the validator reads: filter_labels' output."""
    return LABELS.format(dataset=name, part=part)


def critic_cache(name, ds):
    return CRITIC_CACHE.format(dataset=name)


def export_shards(ds):
    """Export shards: shard s holds parts s*n .. s*n+n-1 (n = exports.shard_parts), so
    adding seeds never moves a part to another shard. [] when the dataset exports as one:
    no shard_parts, or every part in one shard (the layout of an unsharded export)."""
    per_shard = ds["exports"].get("shard_parts")
    if per_shard is None:
        return []
    shards = sorted({part // per_shard for part in parts(ds)})
    return shards if len(shards) > 1 else []


def shard_labels(name, ds, shard):
    """The labels of one export shard's parts (the validator's, when it runs)."""
    per_shard = ds["exports"]["shard_parts"]
    return [part_labels(name, ds, p) for p in parts(ds) if p // per_shard == int(shard)]


def shard_folders(export, name, ds):
    return [EXPORT_SHARD.format(dataset=name, export=export, shard=s) for s in export_shards(ds)]


def export_outputs(name, ds):
    """What a dataset's exports are, by format: its folder when unsharded; when sharded,
    the shard folders, and for COCO and YOLO the dataset-wide files that join them."""
    if not export_shards(ds):
        return {export: EXPORT.format(dataset=name, export=export) for export in EXPORTS}
    outputs = {export: shard_folders(export, name, ds) for export in EXPORTS}
    outputs["coco"] = [COCO_MERGED.format(dataset=name, side=side) for side in ("train", "test")]
    outputs["yolo"] = [
        YOLO_DATA_YAML.format(dataset=name, task=task) for task in ("detect", "segment")
    ]
    return outputs


def edge_impulse_folders(name, ds):
    """What the upload reads: the Edge Impulse folder, or each shard's."""
    return shard_folders("edge_impulse", name, ds) or [
        EXPORT.format(dataset=name, export="edge_impulse")
    ]
