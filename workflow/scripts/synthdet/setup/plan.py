"""What the rules plan from a checked config: parts, seeds, the params that decide reruns, and
the per-dataset lists of inputs. Plain functions of a dataset's config (`ds`) and template, so
they are unit-tested here; workflow/rules/common.smk only wires them to wildcards.
"""

from ..core.smoke_files import SMOKE_MODELS_DIR, smoke_model_files
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


def generation_params(stage, ds, template):
    """Params of a generation rule: every value that changes what is generated.

    Cosmos launch settings (config `cosmos:`) are site configuration, read by the script
    from the config, so moving a checkout or container regenerates nothing.
    """
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


def dataset_manifests(name, ds):
    return {stage: stage_paths(STAGE_MANIFEST, name, stage, seeds(ds)) for stage in made_stages(ds)}


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


def dataset_labels(name, ds):
    return part_paths(LABELS, name, ds)


def contact_sheets(name, ds):
    return part_paths(CONTACT_SHEET, name, ds)


def smoke_model_inputs(ds):
    return [SMOKE_MODELS_DIR] if ds["labeling"]["smoke_models"] else []


def label_inputs(stage, name, ds, part):
    """Inputs of a GPU labeling job: the `stage` (images or frames) of its part's seeds."""
    chosen = part_seeds(ds, part)
    return {
        "manifests": stage_paths(STAGE_MANIFEST, name, stage, chosen),
        stage: stage_paths(STAGE_FOLDER, name, stage, chosen),
        "smoke_models": smoke_model_inputs(ds),
    }


def label_models(models, ds):
    """The models a GPU labeling job loads: a param, since they decide the labels."""
    if not ds["labeling"]["smoke_models"]:
        return models
    files = smoke_model_files()
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
    return inputs


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
    """The labels of one export shard's parts."""
    per_shard = ds["exports"]["shard_parts"]
    return [LABELS.format(dataset=name, part=p) for p in parts(ds) if p // per_shard == int(shard)]


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
