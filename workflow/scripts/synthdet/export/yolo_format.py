"""YOLO for detection and for segmentation (Ultralytics' layout), split into train and
test by seed batch (`split.py`)."""

import logging
import os
from pathlib import Path

import numpy as np
import yaml

from ..core import rle
from ..core.atomic import staged_dir, write_text
from . import polygons
from .naming import export_name, exported_items, link_or_copy, warn_if_crowded
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
    crop, left, top = rle.decode_crop(obj["mask"])
    points = None if crop is None else polygons.mask_polygon(crop) + np.array([left, top])
    if points is None:
        x1, y1, x2, y2 = obj["box"]
        points = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    scaled = points / np.array([width, height])
    values = scaled.clip(0, 1).ravel().tolist()
    # One %-format over the whole line: a generator of f-strings cost more than the outline.
    return f"{index} " + ("%.6f " * len(values))[:-1] % tuple(values) + "\n"


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
        warn_if_crowded(f"yolo/{stage.name}/images/{side}", len(side_items))
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


def has_images(folder):
    with os.scandir(folder) as entries:
        return any(entry.is_file() for entry in entries)


def shard_classes(shard_dir, task):
    """The class names of a shard's own data.yaml (every shard has one)."""
    path = Path(shard_dir) / task / "data.yaml"
    names = yaml.safe_load(path.read_text(encoding="utf-8")).get("names")
    if not isinstance(names, dict):
        raise ValueError(f"{path}: no `names` mapping (made by an older version: export again)")
    return [names[index] for index in sorted(names)]


def sharded_data_yaml(classes, folders):
    """data.yaml listing the shards' image folders ({side: [relative folder, ...]} of the
    folders holding an image): Ultralytics reads `train`, `val` and `test` as lists of
    folders relative to the yaml's own folder. The same fallbacks as yolo_data_yaml."""
    train = folders[TRAIN] or folders[TEST]
    data = {"train": train, "val": folders[TEST] or folders[TRAIN]}
    data["names"] = dict(enumerate(classes))
    if folders[TEST]:
        data["test"] = folders[TEST]
    for side, other in ((TRAIN, TEST), (TEST, TRAIN)):
        if not folders[side] and folders[other]:
            log.warning("YOLO: no shard has a %s image; data.yaml points it at %s", side, other)
    return yaml.safe_dump(data, allow_unicode=False, sort_keys=False)


def write_sharded_data_yaml(shard_dirs, task, out_path):
    """yolo/<task>/data.yaml over every shard's yolo/shard<N>/<task>/ folders."""
    classes = shard_classes(shard_dirs[0], task)
    folders = {TRAIN: [], TEST: []}
    for shard_dir in shard_dirs:
        if shard_classes(shard_dir, task) != classes:
            raise ValueError(
                f"{shard_dir}/{task}/data.yaml: its classes differ from the first shard's"
            )
        for side in folders:
            if has_images(Path(shard_dir) / task / "images" / side):
                folders[side].append(f"../{Path(shard_dir).name}/{task}/images/{side}")
    write_text(out_path, sharded_data_yaml(classes, folders))
    return folders
