"""Labels the export tests share: `write_labels` (images, an odd class name, a frame) and
`write_videos` (two tracked videos and a still), the fixtures `labels` and `videos` in
conftest.py."""

import numpy as np
from PIL import Image

from synthdet.core import rle
from synthdet.core.atomic import write_json

TRACK_CLASSES = ["can", "person"]
ODD = "a&b <c> \"q\" 'x' $(id) `ls` ü"
CLASSES = ["can", ODD]
W, H = 80, 60
SPLIT = {"test_fraction": 0.5, "seed": 2}  # seed 0 on the train side, seed 1 on the test side


def mask_of(box):
    mask = np.zeros((H, W), dtype=bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return rle.encode(mask)


def obj(label, box, score=0.9, **extra):
    return {"class": label, "score": score, "box": box, "mask": mask_of(box), **extra}


def write_labels(tmp_path):
    """Three images (one empty) and a grayscale video frame, labeled; returns labels.json."""
    images = []
    for name, colour in [("a", "red"), ("b", "green"), ("c", "blue")]:
        path = tmp_path / f"{name}.jpg"
        Image.new("RGB", (W, H), colour).save(path)
        images.append(str(path))
    frame = tmp_path / "frames" / "00003.jpg"
    frame.parent.mkdir()
    Image.new("L", (W, H), 128).save(frame)  # grayscale: depth 1
    items = [
        {
            "id": "pa",
            "kind": "image",
            "seed": 0,
            "image": images[0],
            "width": W,
            "height": H,
            "objects": [obj("can", [0, 0, W, H]), obj(ODD, [10, 20, 30, 40])],
        },
        {
            "id": "pb",
            "kind": "image",
            "seed": 1,
            "image": images[1],
            "width": W,
            "height": H,
            "objects": [],
        },
        {
            "id": "pv/00003",
            "kind": "frame",
            "seed": 0,
            "video": "pv",
            "source_index": 12,
            "image": str(frame),
            "width": W,
            "height": H,
            "objects": [obj("can", [5, 5, 25, 15], 0.6, track=4)],
        },
    ]
    path = tmp_path / "labels.json"
    write_json(
        path,
        {"classes": CLASSES, "thresholds": {"box_from": "mask"}, "items": items, "skipped": []},
    )
    return path


def edge_impulse_box(bndbox):
    """Edge Impulse's uploader's reading of a VOC box (edge-impulse-cli, pascal-voc-xml)."""
    xmin, ymin, xmax, ymax = (int(bndbox.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
    box = {"x": xmin, "y": ymin, "width": xmax - xmin, "height": ymax - ymin}
    assert box["width"] > 0 and box["height"] > 0, "the uploader rejects width or height <= 0"
    return box


def frame_item(folder, seed, video, index, objects):
    path = folder / f"seed{seed}" / video / f"{index:05d}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (W, H), (40 * index, 90, 20)).save(path)
    return {
        "id": f"{video}/{index:05d}",
        "kind": "frame",
        "seed": seed,
        "video": video,
        "source_index": 4 * index + 1,
        "image": str(path),
        "width": W,
        "height": H,
        "objects": objects,
    }


def tracked(label, box, track, score=0.8):
    mask = mask_of([int(v) for v in box])  # a detector's float box keeps its own edges
    return {"class": label, "score": score, "box": box, "mask": mask, "track": track}


def write_videos(tmp_path):
    """Two videos of one prompt, one per seed (side); each numbers its tracks from 0."""
    frames = []
    for index in range(3):
        a = [tracked("can", [10 + index, 10, 20 + index, 20], 0)]
        a.append(tracked("person", [40, 30, 50, 45.5], 1))  # a float edge: MOT keeps it
        b = [] if index == 1 else [tracked("can", [5, 5, 15, 15], 0)]
        frames += [frame_item(tmp_path, 0, "pv", index, a), frame_item(tmp_path, 1, "pv", index, b)]
    image = tmp_path / "still.jpg"
    Image.new("RGB", (W, H), "white").save(image)
    still = {"id": "pa", "kind": "image", "seed": 0, "image": str(image), "width": W, "height": H}
    still["objects"] = [{k: v for k, v in tracked("can", [1, 1, 5, 5], 0).items() if k != "track"}]
    path = tmp_path / "labels.json"
    labels = {
        "classes": TRACK_CLASSES,
        "thresholds": {"box_from": "mask"},
        "items": [still, *frames],
    }
    write_json(path, {**labels, "skipped": []})
    return path
