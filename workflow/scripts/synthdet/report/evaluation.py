"""Scoring labels against the procedural generator's ground truth.

Only the procedural stand-in knows the truth; with smoke models (random weights) the
scores are near zero by design. Precision and recall count a label as correct when it
overlaps a same-class truth box with IoU >= 0.5 (each truth box matched once);
mAP@0.5 is pycocotools' COCOeval.
"""

import contextlib
import io

import numpy as np

from ..core import boxes as box_ops
from ..core.records import read_manifest
from ..export.naming import export_name, labeled_items, stable_image_id

IOU = 0.5


def truth_by_name(image_manifests, frame_manifests):
    """Export name -> ground-truth objects, from the generation manifests."""
    truth = {}
    for path in image_manifests:
        batch = read_manifest(path, needs=("seed",))
        for entry in batch["items"]:
            if "ground_truth" in entry:
                item = {"kind": "image", "seed": batch["seed"], "id": entry["id"]}
                truth[export_name(item)] = entry["ground_truth"]
    for path in frame_manifests:
        batch = read_manifest(path, needs=("seed",))
        for entry in batch["items"]:
            for frame, objects in zip(entry.get("frames", []), entry.get("ground_truth", [])):
                item = {
                    "kind": "frame",
                    "seed": batch["seed"],
                    "video": entry["id"],
                    "image": frame["file"],
                }
                truth[export_name(item)] = objects
    return truth


def match_counts(predicted, truth):
    """True positives of one image, greedy by score, one truth box per label."""
    used, hits = set(), 0
    for obj in sorted(predicted, key=lambda o: -o["score"]):
        candidates = [
            i for i, t in enumerate(truth) if t["class"] == obj["class"] and i not in used
        ]
        if not candidates:
            continue
        ious = box_ops.iou_matrix([obj["box"]], [truth[i]["box"] for i in candidates])[0]
        best = int(np.argmax(ious))
        if ious[best] >= IOU:
            used.add(candidates[best])
            hits += 1
    return hits


def mean_ap(items, truth, classes):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    category = {name: i + 1 for i, name in enumerate(classes)}
    images = [
        {"id": stable_image_id(export_name(i)), "width": i["width"], "height": i["height"]}
        for i in items
    ]
    gt, dt = [], []
    for item in items:
        image_id = stable_image_id(export_name(item))
        for t in truth[export_name(item)]:
            x1, y1, x2, y2 = t["box"]
            gt.append(
                {
                    "id": len(gt) + 1,
                    "image_id": image_id,
                    "category_id": category[t["class"]],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
        for o in item["objects"]:
            x1, y1, x2, y2 = o["box"]
            dt.append(
                {
                    "image_id": image_id,
                    "category_id": category[o["class"]],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": o["score"],
                }
            )
    if not gt or not dt:
        return 0.0
    with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its tables
        ground = COCO()
        ground.dataset = {
            "images": images,
            "annotations": gt,
            "categories": [{"id": i, "name": n} for n, i in category.items()],
        }
        ground.createIndex()
        evaluator = COCOeval(ground, ground.loadRes(dt), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return max(0.0, float(evaluator.stats[1]))  # AP at IoU 0.5 (-1 when undefined)


def evaluate(label_paths, image_manifests, frame_manifests):
    items, classes = labeled_items(label_paths)
    truth = truth_by_name(image_manifests, frame_manifests)
    items = [item for item in items if export_name(item) in truth]
    labels = sum(len(i["objects"]) for i in items)
    objects = sum(len(truth[export_name(i)]) for i in items)
    hits = sum(match_counts(i["objects"], truth[export_name(i)]) for i in items)
    return {
        "items_scored": len(items),
        "labels": labels,
        "truth_objects": objects,
        "true_positives": hits,
        "precision": hits / labels if labels else 0.0,
        "recall": hits / objects if objects else 0.0,
        "map50": mean_ap(items, truth, classes) if items else 0.0,
        "iou": IOU,
    }
