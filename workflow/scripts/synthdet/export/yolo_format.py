"""YOLO for detection and for segmentation (Ultralytics' layout), split into train and
test by seed batch (`split.py`)."""

import logging

import numpy as np
import yaml

from ..core import rle
from ..core.atomic import staged_dir, write_text
from . import polygons
from .naming import export_name, exported_items, link_or_copy
from .split import TEST, TRAIN, split_items

log = logging.getLogger(__name__)


def yolo_box_line(index, box, width, height):
    x1, y1, x2, y2 = box
    return (
        f"{index} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
        f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}\n"
    )


def yolo_segment_line(index, obj, width, height):
    """`class x1 y1 x2 y2 ...` normalized: every part of the mask outlined on pixel edges
    and joined into one polygon (`polygons.py`); an empty mask (the detector's box was
    kept) gets its box."""
    points = polygons.mask_polygon(rle.decode(obj["mask"]))
    if points is None:
        x1, y1, x2, y2 = obj["box"]
        points = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    scaled = points / np.array([width, height])
    return f"{index} " + " ".join(f"{v:.6f}" for v in scaled.clip(0, 1).ravel()) + "\n"


def yolo_data_yaml(classes, sides):
    """Ultralytics' data.yaml. No `path:` key: Ultralytics then takes the yaml's own folder
    as the root, so the folder works wherever it is moved. `val` is the test side. An
    empty side (every seed fell on one side) points at the other, so `yolo train` and
    `yolo val` still run: Ultralytics refuses a split folder with no image."""
    train = "images/train" if sides[TRAIN] or not sides[TEST] else "images/test"
    held_out = "images/test" if sides[TEST] else "images/train"
    data = {"train": train, "val": held_out, "names": dict(enumerate(classes))}
    for side, other in ((TRAIN, TEST), (TEST, TRAIN)):
        if not sides[side] and sides[other]:
            log.warning("YOLO: the %s side is empty; data.yaml points it at images/%s", side, other)
    if sides[TEST]:
        data["test"] = "images/test"
    return yaml.safe_dump(data, allow_unicode=False, sort_keys=False)


def export_yolo_task(stage, items, classes, split_settings, to_line):
    index = {name: i for i, name in enumerate(classes)}
    sides = split_items(items, split_settings)
    write_text(stage / "data.yaml", yolo_data_yaml(classes, sides))
    for side, side_items in sides.items():
        (stage / "images" / side).mkdir(parents=True)
        (stage / "labels" / side).mkdir(parents=True)
        for item in side_items:
            name = export_name(item)
            link_or_copy(item["image"], stage / "images" / side / name)
            lines = [
                to_line(index[o["class"]], o, item["width"], item["height"])
                for o in item["objects"]
            ]
            write_text((stage / "labels" / side / name).with_suffix(".txt"), "".join(lines))
    return {side: len(side_items) for side, side_items in sides.items()}


def export_yolo(label_paths, out_dir, empty_images, split_settings):
    """detect/ (boxes from the chosen box source) and segment/ (polygons from the SAM 2
    masks), each with its data.yaml, images/{train,test} and labels/{train,test}: two
    folders because Ultralytics reads one label format per folder."""
    items, classes = exported_items(label_paths, empty_images)

    def box_line(index, obj, width, height):
        return yolo_box_line(index, obj["box"], width, height)

    with staged_dir(out_dir) as stage:
        counts = export_yolo_task(stage / "detect", items, classes, split_settings, box_line)
        export_yolo_task(stage / "segment", items, classes, split_settings, yolo_segment_line)
    return counts
