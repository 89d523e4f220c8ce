"""A dataset's summary: what was asked, made, blocked and failed at each stage."""

from pathlib import Path

from ..core import manifest
from ..core.atomic import read_json
from ..core.records import read_labels, read_manifest


def stage_counts(manifest_paths):
    """Items per status; `rejected` only for manifests that have it (the media critic's)."""
    counts = {status: 0 for status in manifest.STATUSES}
    for path in manifest_paths:
        for status, number in read_manifest(path, needs=("counts",))["counts"].items():
            counts[status] = counts.get(status, 0) + number
    return counts


def media_verdicts(manifest_paths):
    """The media critic's verdicts of one stage: counts, and rejections per reason."""
    counts = {"asked": 0, "accept": 0, "reject": 0, "unparsed": 0, "rejected": 0}
    reasons = {}
    for path in manifest_paths:
        for item in read_manifest(path)["items"]:
            if "critic" not in item:
                continue
            counts["asked"] += 1
            counts[item["critic"]["verdict"]] += 1
            if item["status"] == manifest.REJECTED:
                counts["rejected"] += 1
                reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
    return {**counts, "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))}


def label_verdicts(label_paths):
    """The label validator's counts, summed over parts (None: no validator ran)."""
    total = None
    for path in label_paths:
        counts = read_labels(path).get("validator")
        if counts is None:
            continue
        total = total or {"mode": counts["mode"]}
        for key, value in counts.items():
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
    return total


def critic_counts(manifests, label_paths):
    """What the critic decided, or None for a dataset without one: per vetted stage its
    verdicts and reasons, and the label validator's counts."""
    media = {}
    for stage, paths in manifests.items():
        verdicts = media_verdicts(paths)
        if verdicts["asked"] or any("critic" in Path(p).parts for p in paths):
            media[stage] = verdicts
    labels = label_verdicts(label_paths)
    if not media and labels is None:
        return None
    return {"media": media, "labels": labels}


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
    critic = critic_counts(manifests, label_paths)
    if critic:
        summary["critic"] = critic
    return summary
