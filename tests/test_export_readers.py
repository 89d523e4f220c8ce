"""The exports opened by the tools people use them with, as a new user would: Ultralytics
on the YOLO folders (its dataset check, its loader and a `val` run of a random-weight
model), pycocotools on COCO, torchvision's VOCDetection on VOC, the Edge Impulse
uploader's reading of its XML, and MOT's columns, all compared with COCO."""

import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from synthdet.core import rle
from synthdet.core.atomic import write_json
from synthdet.export import coco_format, coco_merge, identity, mot, voc_format, yolo_format
from support.exports import SPLIT as TRACK_SPLIT
from support.exports import TRACK_CLASSES as CLASSES
from support.exports import H, W, edge_impulse_box

CLASS_INDEX = {name: index for index, name in enumerate(CLASSES)}

SEED_0_TESTS = {"test_fraction": 0.5, "seed": 3}  # seed 0 (3 objects) on the test side

# Runs in its own process: Ultralytics reads its settings and environment at import.
ULTRALYTICS_VAL = """
import json, sys
from ultralytics import YOLO
from ultralytics.data.utils import check_det_dataset

task, model = sys.argv[1], sys.argv[2]
data = check_det_dataset(f"{task}/data.yaml", autodownload=False)
metrics = YOLO(model, task=task).val(
    data=f"{task}/data.yaml", imgsz=64, batch=2, device="cpu", plots=False, workers=0,
    project=sys.argv[3], verbose=False,
)
print(json.dumps({"train": data["train"], "val": data["val"], "names": data["names"],
                  "keys": sorted(metrics.results_dict)}))
"""


@pytest.mark.parametrize(
    "task, model", [("detect", "yolov8n.yaml"), ("segment", "yolov8n-seg.yaml")]
)
def test_ultralytics_opens_and_validates_the_yolo_folders(
    labels, tmp_path, task, model
):  # noqa: F811
    pytest.importorskip("ultralytics", reason="ultralytics is pinned in requirements.txt")
    yolo_format.export_yolo([labels], tmp_path / "yolo", "unlabeled", SEED_0_TESTS)
    # Offline: no weight, font or update downloads; settings in the test's folder.
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(tmp_path / "settings")}
    run = subprocess.run(
        [sys.executable, "-c", ULTRALYTICS_VAL, task, model, str(tmp_path / "runs")],
        cwd=tmp_path / "yolo",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    # The folder is its own root (data.yaml has no `path:`): the splits resolve inside it.
    assert result["train"] == str(tmp_path / "yolo" / task / "images" / "train")
    assert result["val"] == str(tmp_path / "yolo" / task / "images" / "test")
    assert list(result["names"].values()) == ["can", "a&b <c> \"q\" 'x' $(id) `ls` ü"]
    assert "2 images, 0 backgrounds, 0 corrupt" in run.stdout + run.stderr
    assert any(key.startswith("metrics/mAP50") for key in result["keys"])


# Ultralytics' own loader, as `yolo train` builds its datasets: every label it reads.
ULTRALYTICS_LABELS = """
import json, sys
from pathlib import Path
from ultralytics.cfg import get_cfg
from ultralytics.data.build import build_yolo_dataset
from ultralytics.data.utils import check_det_dataset

found = {}
for task in ("detect", "segment"):
    data = check_det_dataset(f"{task}/data.yaml", autodownload=False)
    cfg = get_cfg(overrides={"task": task, "imgsz": 64})
    for key in ("train", "val"):
        dataset = build_yolo_dataset(cfg, data[key], 2, data, mode="val")
        found[f"{task}/{key}"] = {
            Path(label["im_file"]).name: {
                "cls": label["cls"].ravel().astype(int).tolist(),
                "boxes": label["bboxes"].tolist(),
                "segments": [s.tolist() for s in label["segments"]],
            }
            for label in dataset.labels
        }
print(json.dumps(found))
"""


def coco_reference(coco_dir, side):
    """{file name: [(class, [x1, y1, x2, y2], mask), ...]} as pycocotools reads COCO."""
    from pycocotools.coco import COCO

    coco = COCO(str(coco_dir / "annotations" / f"instances_{side}.json"))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    found = {}
    for image in coco.loadImgs(coco.getImgIds()):
        assert (coco_dir / "images" / side / image["file_name"]).is_file()
        objects = []
        for annotation in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            x, y, w, h = annotation["bbox"]
            mask = coco.annToMask(annotation)
            objects.append((names[annotation["category_id"]], [x, y, x + w, y + h], mask))
        found[image["file_name"]] = objects
    return found


def near_edges(integer_box, coco_box):
    """An integer pixel box against COCO's float box: each edge within half a pixel
    (the rounding rule), exactly equal where COCO's edge is whole."""
    for edge, exact in zip(integer_box, coco_box):
        assert abs(edge - exact) <= 0.5 and (edge == exact or exact != int(exact))


def voc_objects(voc_root, side):
    """VOC through torchvision's own VOCDetection (which wants VOCdevkit/VOC<year>/)."""
    from torchvision.datasets import VOCDetection

    devkit = voc_root.parent / f"devkit-{voc_root.name}"  # one per VOC folder (shards)
    (devkit / "VOCdevkit").mkdir(parents=True, exist_ok=True)
    if not (devkit / "VOCdevkit/VOC2007").exists():
        (devkit / "VOCdevkit/VOC2007").symlink_to(voc_root)
    dataset = VOCDetection(str(devkit), year="2007", image_set=side)  # 2007 has a test set
    found = {}
    for index in range(len(dataset)):
        image, target = dataset[index]
        annotation = target["annotation"]
        assert image.size == (int(annotation["size"]["width"]), int(annotation["size"]["height"]))
        boxes = []
        for o in annotation.get("object", []):
            b = {k: int(v) for k, v in o["bndbox"].items()}
            boxes.append((o["name"], [b["xmin"] - 1, b["ymin"] - 1, b["xmax"], b["ymax"]]))
        found[annotation["filename"]] = boxes
    return found


def edge_impulse_objects(folder):
    """The uploader's reading: the image its XML names, x = xmin, width = xmax - xmin."""
    found = {}
    for xml in sorted(folder.glob("*.xml")):
        root = ElementTree.parse(xml).getroot()
        assert (folder / root.findtext("filename")).is_file()
        boxes = []
        for o in root.iter("object"):
            box = edge_impulse_box(o.find("bndbox"))
            x, y = box["x"], box["y"]
            boxes.append((o.findtext("name"), [x, y, x + box["width"], y + box["height"]]))
        found[root.findtext("filename")] = boxes
    return found


def ultralytics_labels(yolo_root, tmp_path):
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(tmp_path / "settings")}
    run = subprocess.run(
        [sys.executable, "-c", ULTRALYTICS_LABELS],
        cwd=yolo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def compare_yolo(labels, coco, size):
    """Ultralytics' labels against COCO: the same images, classes and boxes; each
    segmentation polygon's box is its mask's box (the detect box with `box_from: mask`)."""
    width, height = size
    detect, segment = labels
    assert set(detect) == set(segment) == set(coco)
    for name, objects in coco.items():
        classes = [CLASS_INDEX[label] for label, _, _ in objects]
        assert detect[name]["cls"] == segment[name]["cls"] == classes
        for (_, box, mask), xywh, polygon in zip(
            objects, detect[name]["boxes"], segment[name]["segments"]
        ):
            cx, cy, w, h = xywh
            found = [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width]
            found.append((cy + h / 2) * height)
            assert np.allclose(found, box, atol=1e-3)
            points = np.array(polygon) * [width, height]
            ys, xs = np.nonzero(mask)  # the polygon covers the mask, to its pixels' edges
            mask_box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            assert np.allclose([*points.min(axis=0), *points.max(axis=0)], mask_box, atol=1e-3)


def test_every_export_opens_with_its_tools_and_agrees_with_coco(videos, tmp_path):
    """pycocotools (COCO), torchvision (VOC), the uploader's reading (Edge Impulse),
    Ultralytics' loader (YOLO) and MOT's columns: the same images, counts, classes and
    boxes on each side. Datumaro and FiftyOne are not installed: their wheels would
    change pinned packages (see the README's exports section)."""
    data = json.loads(videos.read_text())
    parts = np.zeros((H, W), dtype=bool)
    parts[30:40, 5:12], parts[44:50, 20:31] = True, True  # a mask in two parts
    split_object = {"class": "person", "score": 0.7, "box": [5, 30, 31, 50]}
    data["items"][0]["objects"].append({**split_object, "mask": rle.encode(parts)})
    write_json(videos, data)
    out = tmp_path / "out"
    voc_format.export_voc([videos], out / "voc", "skip", TRACK_SPLIT)
    voc_format.export_edge_impulse([videos], out / "edge_impulse", "skip", TRACK_SPLIT)
    coco_format.export_coco([videos], out / "coco", "d", "skip", TRACK_SPLIT)
    yolo_format.export_yolo([videos], out / "yolo", "skip", TRACK_SPLIT)
    mot.export_mot([videos], out / "mot", "skip", TRACK_SPLIT, 4)
    yolo = ultralytics_labels(out / "yolo", tmp_path)
    sizes = {side: 0 for side in ("train", "test")}
    for side, ei_folder in voc_format.EDGE_IMPULSE_FOLDERS.items():
        coco = coco_reference(out / "coco", side)
        sizes[side] = len(coco)
        boxes = {
            name: [(label, box) for label, box, _ in objects] for name, objects in coco.items()
        }
        for tool in (
            voc_objects(out / "voc", side),
            edge_impulse_objects(out / "edge_impulse" / ei_folder),
        ):
            assert set(tool) == set(boxes)
            for name, objects in tool.items():
                assert [label for label, _ in objects] == [label for label, _ in boxes[name]]
                for (_, integer_box), (_, exact) in zip(objects, boxes[name]):
                    near_edges(integer_box, exact)
        key = "train" if side == "train" else "val"
        compare_yolo((yolo[f"detect/{key}"], yolo[f"segment/{key}"]), coco, (W, H))
        compare_mot(out / "mot" / side, coco)
    assert sizes == {"train": 4, "test": 2}


def compare_mot(side_folder, coco):
    """Each MOT line is a COCO annotation of that video's frame: class and box."""
    from_mot = set()
    for gt in side_folder.glob("*/gt/gt.txt"):
        classes = (gt.parent / "labels.txt").read_text().splitlines()
        for row in csv.reader(gt.read_text().splitlines()):
            frame, x, y, w, h = int(row[0]), *map(float, row[2:6])
            name = f"{gt.parts[-3]}_f{frame - 1:05d}.jpg"
            from_mot.add((name, classes[int(row[7]) - 1], (x, y, x + w, y + h)))
    from_coco = {
        (name, label, tuple(box))
        for name, objects in coco.items()
        if "_f" in name
        for label, box, _ in objects
    }
    assert from_mot == from_coco


def test_ultralytics_loads_both_splits_when_every_seed_fell_on_the_test_side(labels, tmp_path):
    # 1 seed with test_fraction 0.2 does this 18% of the time; here every seed tests.
    yolo_format.export_yolo(
        [labels], tmp_path / "yolo", "unlabeled", {"test_fraction": 1, "seed": 0}
    )
    found = ultralytics_labels(tmp_path / "yolo", tmp_path)
    assert (
        set(found["detect/train"])
        == set(found["detect/val"])
        == {
            "seed0_pa.jpg",
            "seed0_pv_f00003.jpg",
            "seed1_pb.jpg",
        }
    )


def split_into_shards(labels_path, folder):
    """The labels as two export shards: seed 0's items, then seed 1's."""
    data = json.loads(labels_path.read_text())
    shards = []
    for seed in (0, 1):
        path = folder / f"shard{seed}.json"
        write_json(path, {**data, "items": [i for i in data["items"] if i["seed"] == seed]})
        shards.append(path)
    return shards


def export_sharded(shards, out):
    """Every format as the shard rules and the rules joining them write it."""
    for index, labels in enumerate(shards):
        shard = f"shard{index}"
        voc_format.export_voc([labels], out / "voc" / shard, "skip", TRACK_SPLIT)
        voc_format.export_edge_impulse([labels], out / "edge_impulse" / shard, "skip", TRACK_SPLIT)
        coco_format.export_coco([labels], out / "coco" / shard, "d", "skip", TRACK_SPLIT, index)
        yolo_format.export_yolo([labels], out / "yolo" / shard, "skip", TRACK_SPLIT)
        mot.export_mot([labels], out / "mot" / shard, "skip", TRACK_SPLIT, 4, index)
    folders = [out / "coco" / f"shard{i}" for i in range(len(shards))]
    for side in ("train", "test"):
        target = out / "coco" / "annotations" / f"instances_{side}.json"
        coco_merge.merge_side(folders, side, target, f"d ({side})")
    for task in ("detect", "segment"):
        yolo_folders = [out / "yolo" / f"shard{i}" for i in range(len(shards))]
        yolo_format.write_sharded_data_yaml(yolo_folders, task, out / "yolo" / task / "data.yaml")


def merged_coco_reference(coco_dir, side):
    """pycocotools on the merged file: {image name: [(class, box), ...]}, and the track ids
    per shard; every file_name is a file under coco/."""
    from pycocotools.coco import COCO

    coco = COCO(str(coco_dir / "annotations" / f"instances_{side}.json"))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    found, tracks = {}, {}
    for image in coco.loadImgs(coco.getImgIds()):
        assert (coco_dir / image["file_name"]).is_file(), image["file_name"]
        shard, name = image["file_name"].split("/")[0], image["file_name"].split("/")[-1]
        found[name] = []
        for annotation in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            x, y, w, h = annotation["bbox"]
            found[name].append((names[annotation["category_id"]], [x, y, x + w, y + h]))
            if "track_id" in annotation:
                tracks.setdefault(shard, set()).add(annotation["track_id"])
    return found, tracks


def test_a_sharded_dataset_opens_with_each_formats_tools_as_the_whole(videos, tmp_path):
    """Two export shards: pycocotools reads one merged file per side, Ultralytics one
    data.yaml listing the shards' folders, torchvision each shard's VOC, the uploader each
    shard's split folders; together they hold what the unsharded export holds, and the
    shards' track ids are distinct (MOT's the same as COCO's)."""
    whole = tmp_path / "whole"
    coco_format.export_coco([videos], whole / "coco", "d", "skip", TRACK_SPLIT)
    out = tmp_path / "sharded"
    export_sharded(split_into_shards(videos, tmp_path), out)
    yolo, tracks = ultralytics_labels(out / "yolo", tmp_path), {}
    for side, ei_folder in voc_format.EDGE_IMPULSE_FOLDERS.items():
        coco = coco_reference(whole / "coco", side)
        expected = {
            name: [(label, box) for label, box, _ in objects] for name, objects in coco.items()
        }
        key = "train" if side == "train" else "val"
        compare_yolo((yolo[f"detect/{key}"], yolo[f"segment/{key}"]), coco, (W, H))
        merged, side_tracks = merged_coco_reference(out / "coco", side)
        assert merged == expected
        tracks.update(side_tracks)
        from_voc, from_ei = {}, {}
        for shard in ("shard0", "shard1"):
            from_voc.update(voc_objects(out / "voc" / shard, side))
            from_ei.update(edge_impulse_objects(out / "edge_impulse" / shard / ei_folder))
        assert set(from_voc) == set(from_ei) == set(expected)
    assert tracks["shard0"] and tracks["shard1"] and not tracks["shard0"] & tracks["shard1"]
    assert min(tracks["shard1"]) == identity.SHARD_ID_STRIDE + 1
    mot_ids = {
        int(row.split(",")[1])
        for gt in (out / "mot").glob("shard1/*/*/gt/gt.txt")
        for row in gt.read_text().splitlines()
    }
    assert mot_ids == tracks["shard1"]
