"""The CPU stage: candidates above the GPU's low floor -> labels.

Every threshold lives here, as `params:` of the filter rule alone, so a tweak reruns
this stage and what follows, never a GPU, Cosmos or ffmpeg job.

A candidate's class is its best-scoring ontology class. It is kept when that score
reaches the class's `box_threshold` and `text_threshold`. (In Grounding DINO's own
predict(), box_threshold gates the box and text_threshold picks the tokens that name
it; with an ontology the name is always the best class, so both gate its score.)
Then: minimum box area, and non-maximum suppression (class-agnostic by default,
because synonyms of one class, or an object matched by two classes, make duplicates).
Videos: a track's window (the frames from a keyframe to the next) is vouched for by the
detection that confirmed the track there (tracking.py). A window is kept when its detection
passes the thresholds as an image candidate would; a run of at most `max_missed` windows
that nothing vouches for at these thresholds (carried, or confirmed only by a weaker
detection) is kept between two kept ones; any other frame of the track is dropped. The
track's class and score are the max or mean of the class scores of the detections that
vouch for its kept windows, and each frame's box comes from that frame's tracked mask.
"""

import numpy as np

from ..core import boxes as box_ops
from ..core.records import read_candidates, write_labels


def thresholds_for(settings, label):
    override = settings.get("per_class", {}).get(label, {})
    box = override.get("box_threshold", settings["box_threshold"])
    text = override.get("text_threshold", settings["text_threshold"])
    return max(box, text)


def best_class(scores, classes):
    scores = np.asarray(scores, dtype=np.float64)
    index = int(scores.argmax())
    return classes[index], float(scores[index])


def suppress(objects, settings):
    if not objects:
        return objects
    groups = None if settings["class_agnostic_nms"] else [o["class"] for o in objects]
    keep = box_ops.nms(
        [o["box"] for o in objects], [o["score"] for o in objects], settings["nms_iou"], groups
    )
    return [objects[i] for i in keep]


def large_enough(box, settings):
    """At least one pixel wide and high (a thinner box is no object in any export format,
    and Edge Impulse refuses it), and at least `min_box_area`."""
    x1, y1, x2, y2 = box
    return x2 - x1 >= 1 and y2 - y1 >= 1 and box_ops.area(box)[0] >= settings["min_box_area"]


def label_image(item, classes, settings):
    """One image's candidates -> its labeled objects."""
    objects = []
    for candidate in item["candidates"]:
        label, score = best_class(candidate["scores"], classes)
        if score < thresholds_for(settings, label):
            continue
        box = candidate["box"]
        if settings["box_from"] == "mask" and candidate["mask_area"] > 0:
            box = candidate["mask_box"]
        if not large_enough(box, settings):
            continue
        objects.append({"class": label, "score": score, "box": box, "mask": candidate["mask"]})
    return suppress(objects, settings)


def passes(scores, classes, settings):
    label, score = best_class(scores, classes)
    return score >= thresholds_for(settings, label)


def kept_windows(vouched, max_missed):
    """Indices of the windows a track keeps: every vouched one, and every run of at most
    `max_missed` others between two vouched ones."""
    kept, gap, started = [], [], False
    for index, ok in enumerate(vouched):
        if not ok:
            gap.append(index)
            continue
        if started and len(gap) <= max_missed:
            kept += gap
        kept.append(index)
        gap, started = [], True
    return kept


def track_score(scores, classes, settings):
    """Class and score of a track from its vouching detections' class scores (rows)."""
    scores = np.asarray(scores, dtype=np.float64)  # detections x classes
    combined = scores.max(axis=0) if settings["track_score"] == "max" else scores.mean(axis=0)
    return best_class(combined, classes)


def track_labels(track, classes, settings, max_missed):
    """A track's class, score and kept windows at these thresholds, or None."""
    windows = track["windows"]
    vouched = [
        w["detection"] is not None and passes(track["scores"][w["detection"]], classes, settings)
        for w in windows
    ]
    kept = [windows[i] for i in kept_windows(vouched, max_missed)]
    detections = sorted({w["detection"] for w in kept if w["detection"] is not None})
    if not detections:
        return None
    label, score = track_score([track["scores"][d] for d in detections], classes, settings)
    if score < thresholds_for(settings, label):
        return None
    return label, score, kept


def label_video(item, classes, settings):
    """One video's tracks -> labeled objects per frame (a list parallel to item["frames"])."""
    per_frame = [[] for _ in item["frames"]]
    for track in item["tracks"]:
        labeled = track_labels(track, classes, settings, item["max_missed"])
        if labeled is None:
            continue
        label, score, windows = labeled
        for window in windows:
            for frame in range(window["first"], window["last"] + 1):
                state = track["masks"].get(str(frame))
                if state is None or state["area"] == 0 or not large_enough(state["box"], settings):
                    continue
                per_frame[frame].append(
                    {
                        "class": label,
                        "score": score,
                        "box": state["box"],
                        "mask": state["mask"],
                        "track": track["track"],
                    }
                )
    return [suppress(objects, settings) for objects in per_frame]


def frame_items(item, classes, settings):
    """A video's candidates -> one labeled item per extracted frame."""
    labeled = label_video(item, classes, settings)
    for frame, objects in zip(item["frames"], labeled):
        stem = frame["file"].rsplit(".", 1)[0]
        yield {
            "id": f"{item['id']}/{stem}",
            "kind": "frame",
            "seed": item["seed"],
            "video": item["id"],
            "source_index": frame["source_index"],
            "image": f"{item['frames_dir']}/{frame['file']}",
            "width": item["width"],
            "height": item["height"],
            "objects": objects,
        }


def require_windows(path, candidates):
    """Video candidates from before tracks had vouched windows cannot be filtered."""
    for item in candidates["items"]:
        if "max_missed" not in item or any("windows" not in t for t in item["tracks"]):
            raise ValueError(
                f"{path}: its tracks have no windows (made by an older version of this "
                "workflow); make it again: snakemake --forcerun track_videos"
            )


def filter_part(inputs, out_path, settings, dataset, part):
    """Candidates of one labeling part ({"images": path, "frames": path}) -> its labels."""
    items, skipped, classes = [], [], None
    if "images" in inputs:
        candidates = read_candidates(inputs["images"])
        classes = candidates["classes"]
        skipped += candidates["skipped"]
        for item in candidates["items"]:
            items.append(
                {
                    "id": item["id"],
                    "kind": "image",
                    "seed": item["seed"],
                    "image": item["image"],
                    "width": item["width"],
                    "height": item["height"],
                    "objects": label_image(item, classes, settings),
                }
            )
    if "frames" in inputs:
        candidates = read_candidates(inputs["frames"])
        require_windows(inputs["frames"], candidates)
        classes = candidates["classes"]
        skipped += candidates["skipped"]
        for item in candidates["items"]:
            items.extend(frame_items(item, classes, settings))
    result = {
        "dataset": dataset,
        "part": part,
        "classes": classes,
        "thresholds": settings,
        "objects": sum(len(item["objects"]) for item in items),
        "items": items,
        "skipped": skipped,
    }
    write_labels(out_path, result)
    return result
