"""VOC, COCO and YOLO exports, QA overlays, statistics and evaluation."""

import json
import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from PIL import Image

from synthdet import evaluation, exports, qa, rle, stats
from synthdet.atomic import write_json

ODD = "a&b <c> \"q\" 'x' $(id) `ls` ü"
CLASSES = ["can", ODD]
W, H = 80, 60


def mask_of(box):
    mask = np.zeros((H, W), dtype=bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return rle.encode(mask)


def obj(label, box, score=0.9, **extra):
    return {"class": label, "score": score, "box": box, "mask": mask_of(box), **extra}


@pytest.fixture
def labels(tmp_path):
    images = []
    for name, colour in [("a", "red"), ("b", "green"), ("c", "blue")]:
        path = tmp_path / f"{name}.jpg"
        Image.new("RGB", (W, H), colour).save(path)
        images.append(str(path))
    frame = tmp_path / "frames" / "00003.jpg"
    frame.parent.mkdir()
    Image.new("L", (W, H), 128).save(frame)  # grayscale: depth 1
    items = [
        {"id": "pa", "kind": "image", "seed": 0, "image": images[0], "width": W, "height": H,
         "objects": [obj("can", [0, 0, W, H]), obj(ODD, [10, 20, 30, 40])]},
        {"id": "pb", "kind": "image", "seed": 1, "image": images[1], "width": W, "height": H,
         "objects": []},
        {"id": "pv/00003", "kind": "frame", "seed": 0, "video": "pv", "source_index": 12,
         "image": str(frame), "width": W, "height": H,
         "objects": [obj("can", [5, 5, 25, 15], 0.6, track=4)]},
    ]  # fmt: skip
    path = tmp_path / "labels.json"
    write_json(path, {"classes": CLASSES, "items": items, "skipped": []})
    return path


def parse_voc(path):
    root = ElementTree.parse(path).getroot()
    size = root.find("size")
    objects = [
        (o.findtext("name"), [int(o.find("bndbox").findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
        for o in root.findall("object")
    ]
    dims = tuple(int(size.findtext(k)) for k in ("width", "height", "depth"))
    return root.findtext("filename"), dims, objects


@pytest.mark.fault('exports: XML metacharacters in class names (VOC)')
def test_voc_folder_parses_with_an_independent_parser(labels, tmp_path):
    counts = exports.export_voc([labels], tmp_path / "voc", "skip")
    assert counts == {"images": 2, "objects": 3, "empty_skipped": 1, "empty_unlabeled": 0}
    names = sorted(p.name for p in (tmp_path / "voc").iterdir())
    assert names == ["seed0_pa.jpg", "seed0_pa.xml", "seed0_pv_f00003.jpg", "seed0_pv_f00003.xml"]
    filename, dims, objects = parse_voc(tmp_path / "voc" / "seed0_pa.xml")
    assert filename == "seed0_pa.jpg" and dims == (W, H, 3)
    # 1-based inclusive; the full-image box stays inside; the odd name round-trips
    assert objects == [("can", [1, 1, W, H]), (ODD, [11, 21, 30, 40])]
    filename, dims, objects = parse_voc(tmp_path / "voc" / "seed0_pv_f00003.xml")
    assert dims == (W, H, 1) and objects == [("can", [6, 6, 25, 15])]
    with Image.open(tmp_path / "voc" / "seed0_pa.jpg") as image:
        assert image.size == (W, H)


def test_voc_parses_with_torchvision_too(labels, tmp_path):
    from torchvision.datasets import VOCDetection

    exports.export_voc([labels], tmp_path / "voc", "skip")
    tree = ElementTree.parse(tmp_path / "voc" / "seed0_pa.xml").getroot()
    parsed = VOCDetection.parse_voc_xml(tree)["annotation"]
    assert [o["name"] for o in parsed["object"]] == ["can", ODD]
    assert parsed["filename"] == "seed0_pa.jpg"


def test_empty_images_can_be_kept_unlabeled(labels, tmp_path):
    counts = exports.export_voc([labels], tmp_path / "voc", "unlabeled")
    assert counts["empty_unlabeled"] == 1 and counts["images"] == 3
    assert parse_voc(tmp_path / "voc" / "seed1_pb.xml")[2] == []


@pytest.mark.fault('exports: boxes beyond the image border')
def test_boxes_are_clamped_to_the_image():
    assert exports.voc_box([-5.2, -1, W + 9, H + 0.4], W, H) == (1, 1, W, H)
    assert exports.voc_box([W + 3, 10, W + 8, 12], W, H) == (W, 11, W, 12)  # outside: 1 px at the edge
    assert exports.voc_box([10.4, 10.6, 10.5, 10.6], W, H) == (11, 12, 11, 12)


def test_export_names_never_spell_a_split():
    for seed in range(200):
        for pid in ("p" + format(seed * 7919, "012x"), "pfffffffffffa"):
            for item in ({"kind": "image", "seed": seed, "id": pid},
                         {"kind": "frame", "seed": seed, "video": pid, "image": "f/00012.jpg"}):  # fmt: skip
                assert not re.search("train|test|val", exports.export_name(item))


def test_coco_loads_with_pycocotools_and_masks_decode_to_the_boxes(labels, tmp_path):
    from pycocotools.coco import COCO

    exports.export_coco([labels], tmp_path / "instances.json", "d", "unlabeled")
    coco = COCO(str(tmp_path / "instances.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == CLASSES
    assert len(coco.getImgIds()) == 3 and len(coco.getAnnIds()) == 3
    for annotation in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(annotation)
        assert annotation["area"] == mask.sum()
        ys, xs = np.nonzero(mask)
        x, y, w, h = annotation["bbox"]
        assert [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] == [x, y, x + w, y + h]
    track = [a for a in coco.loadAnns(coco.getAnnIds()) if "track_id" in a]
    assert [a["track_id"] for a in track] == [4]


def test_coco_image_ids_are_stable_across_reruns(labels, tmp_path):
    first = exports.export_coco([labels], tmp_path / "1.json", "d", "unlabeled")
    again = exports.export_coco([labels], tmp_path / "2.json", "d", "unlabeled")
    assert [i["id"] for i in first["images"]] == [i["id"] for i in again["images"]]
    assert first["images"][0]["id"] == exports.stable_image_id(first["images"][0]["file_name"])


def test_yolo_export(labels, tmp_path):
    exports.export_yolo([labels], tmp_path / "yolo", "unlabeled")
    assert (tmp_path / "yolo" / "classes.txt").read_text() == f"can\n{ODD}\n"
    lines = (tmp_path / "yolo" / "labels" / "seed0_pa.txt").read_text().splitlines()
    assert lines[0] == "0 0.500000 0.500000 1.000000 1.000000"
    assert (tmp_path / "yolo" / "images" / "seed0_pa.jpg").is_file()
    assert (tmp_path / "yolo" / "labels" / "seed1_pb.txt").read_text() == ""


@pytest.mark.fault('exports: hostile class names in overlays')
def test_overlays_draw_hostile_names_and_a_contact_sheet(labels, tmp_path):
    drawn = qa.overlays(labels, tmp_path / "qa", tmp_path / "sheet.jpg", None)
    assert drawn == 3 and len(list((tmp_path / "qa").iterdir())) == 3
    with Image.open(tmp_path / "qa" / "seed0_pa.jpg") as image:
        assert image.getpixel((20, 30)) != (255, 0, 0)  # the mask is tinted
    with Image.open(tmp_path / "sheet.jpg") as sheet:
        assert sheet.size[0] == 4 * qa.THUMBNAIL
    assert len(qa.sample(list(range(100)), 7)) == 7


def test_stats(labels, tmp_path):
    out = {"json": tmp_path / "s.json", "csv": tmp_path / "c.csv", "plot": tmp_path / "p.png"}
    result = stats.dataset_stats([labels], {}, None, out)
    assert result["images"] == 2 and result["frames"] == 1 and result["objects"] == 3
    assert result["objects_per_class"] == {"can": 2, ODD: 1}
    assert result["items_without_objects"] == 1
    assert json.loads(out["json"].read_text()) == result
    assert out["csv"].read_text().splitlines()[0] == "class,objects,score_mean,score_min,area_median"
    assert out["plot"].stat().st_size > 1000


def test_evaluation_scores_perfect_and_wrong_labels(tmp_path):
    truth = [{"class": "can", "box": [10, 10, 30, 30], "track": 0}, {"class": "can", "box": [40, 10, 60, 30], "track": 1}]
    manifest = {"seed": 0, "items": [{"id": "pa", "status": "made", "ground_truth": truth}]}
    write_json(tmp_path / "m.json", manifest)

    def score(objects):
        item = {"id": "pa", "kind": "image", "seed": 0, "image": "x.jpg", "width": W, "height": H, "objects": objects}
        write_json(tmp_path / "l.json", {"classes": ["can"], "items": [item], "skipped": []})
        return evaluation.evaluate([tmp_path / "l.json"], [tmp_path / "m.json"], [])

    perfect = score([dict(t, score=0.9) for t in truth])
    assert (perfect["precision"], perfect["recall"], perfect["map50"]) == (1.0, 1.0, 1.0)
    half = score([{"class": "can", "box": [10, 10, 30, 30], "score": 0.9}, {"class": "can", "box": [0, 40, 5, 45], "score": 0.8}])
    assert (half["precision"], half["recall"]) == (0.5, 0.5) and 0 < half["map50"] < 1


def test_coco_and_yolo_leave_out_what_voc_leaves_out(labels, tmp_path):
    exports.export_voc([labels], tmp_path / "voc", "skip")
    coco = exports.export_coco([labels], tmp_path / "c.json", "d", "skip")
    in_voc = {p.name for p in (tmp_path / "voc").glob("*.jpg")}
    assert {image["file_name"] for image in coco["images"]} == in_voc
    exports.export_yolo([labels], tmp_path / "yolo", "skip")
    assert {p.name for p in (tmp_path / "yolo" / "images").iterdir()} == in_voc
