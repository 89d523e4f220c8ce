"""A dataset's summary: what was asked, made, blocked and failed at each stage."""

from ..core import manifest
from ..core.atomic import read_json
from ..core.records import read_labels, read_manifest


def stage_counts(manifest_paths):
    counts = {status: 0 for status in manifest.STATUSES}
    for path in manifest_paths:
        for status, number in read_manifest(path, needs=("counts",))["counts"].items():
            counts[status] += number
    return counts


def label_counts(label_paths):
    counts = {"items": 0, "items_without_objects": 0, "objects": {}, "skipped": 0}
    for path in label_paths:
        labels = read_labels(path)
        counts["skipped"] += len(labels["skipped"])
        for item in labels["items"]:
            counts["items"] += 1
            counts["items_without_objects"] += not item["objects"]
            for obj in item["objects"]:
                counts["objects"][obj["class"]] = counts["objects"].get(obj["class"], 0) + 1
    return counts


def summarize(dataset, prompts_path, manifests, items, label_paths):
    """`manifests` maps a stage (images, videos, frames) to its manifest paths."""
    summary = {
        "dataset": dataset,
        "prompts": len(read_json(prompts_path)["prompts"]),
        "seeds": len(manifests["images"]),
        "dataset_items": [kind for kind, wanted in items.items() if wanted],
    }
    for stage, paths in manifests.items():
        summary[stage] = stage_counts(paths)
    if "frames" in manifests:
        summary["frames"]["files"] = sum(
            len(entry["frames"])
            for path in manifests["frames"]
            for entry in manifest.made_items(read_manifest(path))
        )
    summary["labels"] = label_counts(label_paths)
    return summary
