"""Tracking end to end: a workflow run whose tracks span many frames.

The smoke SAM 2 (random weights) loses every object at the next frame, so this run uses
the procedural STAND-IN propagator (not SAM 2), which moves each keyframe mask with the
generator's known motion. The keyframe masks still come from the random-weight detectors;
what is checked is the tracking, the CPU filter and the exports around them."""

import pytest
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from conftest import small_dataset
from synthdet.core import rle
from synthdet.export.naming import export_name

pytestmark = pytest.mark.workflow  # runs Snakemake: not in `make test-fast`

DETECT_EVERY = 4
VIDEO_FRAMES = 17  # all extracted: frames.fps equals the video's 16 fps


def stand_in_dataset():
    labeling = {
        "smoke_models": True,
        "video": {"detect_every": DETECT_EVERY, "propagator": "procedural_stand_in"},
    }
    return small_dataset(
        seeds=1,
        images=False,
        video2world={"prompts_per_seed": 2, "fps": 16},
        frames={"fps": 16},
        procedural={"width": 128, "video_frames": VIDEO_FRAMES},
        labeling=labeling,
    )


def frame_index(item):
    return int(Path(item["image"]).stem)


def label_tracks(items):
    """(video, track) -> {frame index: mask RLE} from the labels."""
    tracks = defaultdict(dict)
    for item in items:
        for obj in item["objects"]:
            tracks[item["video"], obj["track"]][frame_index(item)] = obj["mask"]
    return tracks


def coco_tracks(project, items):
    """(video, track_id) -> {frame index: mask RLE} from every COCO instances file."""
    by_name = {export_name(item): item for item in items}  # COCO may prefix a split folder
    tracks = defaultdict(dict)
    for path in project.path("results/a/coco").rglob("instances_*.json"):
        coco = json.loads(path.read_text())
        images = {i["id"]: by_name[Path(i["file_name"]).name] for i in coco["images"]}
        for annotation in coco["annotations"]:
            item = images[annotation["image_id"]]
            key = (item["video"], annotation["track_id"])
            tracks[key][frame_index(item)] = annotation["segmentation"]
    return tracks


def track_set(tracks):
    """Tracks without their ids: which frames, with which masks."""
    return {tuple(sorted((f, m["counts"]) for f, m in t.items())) for t in tracks.values()}


def longest_run(frames):
    frames, best, run = sorted(frames), 1, 1
    for before, after in zip(frames, frames[1:]):
        run = run + 1 if after == before + 1 else 1
        best = max(best, run)
    return best


def moved(mask, dx, dy):
    """The pixels of `mask` moved by (dx, dy), those left inside the frame."""
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    ys, xs = ys + dy, xs + dx
    inside = (0 <= ys) & (ys < height) & (0 <= xs) & (xs < width)
    result = np.zeros_like(mask)
    result[ys[inside], xs[inside]] = True
    return result


def windows(frames):
    """A track's labeled frames grouped by the keyframe whose mask they were moved from:
    forward through its window, and (reverse) back from the track's first keyframe."""
    keys = [f for f in sorted(frames) if f % DETECT_EVERY == 0]
    groups = defaultdict(list)
    for frame in sorted(frames):
        key = frame - frame % DETECT_EVERY
        if key in frames:
            groups[key].append(frame)
        elif keys and frame < keys[0]:
            groups[keys[0]].append(frame)
    return groups


def follows(masks, key, frames, truth):
    """The ground-truth objects (None: the static backdrop) whose displacement from
    `key` moves the mask at `key` onto the mask of each of `frames`."""
    start = rle.decode(masks[key])
    found = []
    candidates = {obj["track"]: obj["box"] for obj in truth[key]}
    for index in [None, *candidates]:
        for frame in frames:
            if index is None:
                dx = dy = 0
            else:
                now = next(o["box"] for o in truth[frame] if o["track"] == index)
                dx, dy = now[0] - candidates[index][0], now[1] - candidates[index][1]
            if not np.array_equal(rle.decode(masks[frame]), moved(start, dx, dy)):
                break
        else:
            found.append(index)
    return found


def test_stand_in_tracks_span_many_frames_and_follow_the_generators_boxes(project):
    project.write_config({"datasets": {"a": stand_in_dataset()}})
    project.snakemake()
    log = project.path("logs/track_videos/a/part0.log").read_text()
    assert "video propagator: the procedural STAND-IN, not SAM 2" in log

    items = json.loads(project.path("results/a/labels/part0.json").read_text())["items"]
    manifest = json.loads(project.path("results/a/frames/seed0.manifest.json").read_text())
    truth = {entry["id"]: entry["ground_truth"] for entry in manifest["items"]}
    assert len(truth) == 2 and all(len(t) == VIDEO_FRAMES for t in truth.values())

    labels = label_tracks(items)
    coco = coco_tracks(project, items)
    # The exported COCO holds the same tracks, frame for frame and mask for mask.
    assert track_set(coco) == track_set(labels)
    # Ids continue past keyframes: a track spans consecutive frames of several windows.
    runs = {key: longest_run(frames) for key, frames in coco.items()}
    assert max(runs.values()) > 2 * DETECT_EVERY, runs

    # Within a window, each frame's mask is the keyframe's moved as one generator object.
    checked, moving = 0, 0
    for (video, _), masks in labels.items():
        for key, frames in windows(masks).items():
            objects = follows(masks, key, frames, truth[video])
            assert objects, (video, key, frames)
            checked += len(frames)
            moving += len(frames) if None not in objects else 0
    # A frame whose keyframe the per-frame NMS suppressed for this track has no anchor.
    assert checked >= 0.8 * sum(len(masks) for masks in labels.values())
    assert moving >= 2 * DETECT_EVERY, (checked, moving)
