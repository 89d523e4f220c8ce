"""VOC, COCO and YOLO exports, QA overlays, statistics and evaluation."""

import json
import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from PIL import Image

from synthdet.core import rle
from synthdet.core.atomic import write_json
from synthdet.export import coco_format, naming, polygons, split, voc_format, yolo_format
from synthdet.report import evaluation, qa, stats
from support.exports import CLASSES, H, ODD, SPLIT, W, edge_impulse_box, obj


def parse_voc(path):
    root = ElementTree.parse(path).getroot()
    size = root.find("size")
    objects = [
        (
            o.findtext("name"),
            [int(o.find("bndbox").findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")],
        )
        for o in root.findall("object")
    ]
    dims = tuple(int(size.findtext(k)) for k in ("width", "height", "depth"))
    return root.findtext("filename"), dims, objects


def xml_names(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.fault("exports: XML metacharacters in class names (VOC)")
def test_voc_folder_parses_with_an_independent_parser(labels, tmp_path):
    counts = voc_format.export_voc([labels], tmp_path / "voc", "skip", SPLIT)
    assert counts == {"train": 2, "test": 0, "objects": 3}
    voc = tmp_path / "voc"
    assert xml_names(voc / "JPEGImages") == ["seed0_pa.jpg", "seed0_pv_f00003.jpg"]
    assert (voc / "ImageSets/Main/train.txt").read_text() == "seed0_pa\nseed0_pv_f00003\n"
    assert (voc / "ImageSets/Main/test.txt").read_text() == ""
    filename, dims, objects = parse_voc(voc / "Annotations/seed0_pa.xml")
    assert filename == "seed0_pa.jpg" and dims == (W, H, 3)
    # 1-based inclusive; the full-image box stays inside; the odd name round-trips
    assert objects == [("can", [1, 1, W, H]), (ODD, [11, 21, 30, 40])]
    filename, dims, objects = parse_voc(voc / "Annotations/seed0_pv_f00003.xml")
    assert dims == (W, H, 1) and objects == [("can", [6, 6, 25, 15])]
    with Image.open(voc / "JPEGImages/seed0_pa.jpg") as image:
        assert image.size == (W, H)


def test_voc_parses_with_torchvision_in_the_standard_convention(labels, tmp_path):
    from torchvision.datasets import VOCDetection

    voc_format.export_voc([labels], tmp_path / "voc", "skip", SPLIT)
    tree = ElementTree.parse(tmp_path / "voc/Annotations/seed0_pa.xml").getroot()
    parsed = VOCDetection.parse_voc_xml(tree)["annotation"]
    assert [o["name"] for o in parsed["object"]] == ["can", ODD]
    assert parsed["filename"] == "seed0_pa.jpg" and parsed["path"] == "JPEGImages/seed0_pa.jpg"
    # VOC's 1-based inclusive box of 0-based pixels 10..29 x 20..39
    assert parsed["object"][1]["bndbox"] == {"xmin": "11", "ymin": "21", "xmax": "30", "ymax": "40"}


def test_edge_impulse_reads_exactly_the_labeled_pixels(labels, tmp_path):
    counts = voc_format.export_edge_impulse([labels], tmp_path / "ei", "unlabeled", SPLIT)
    assert counts == {"train": 2, "test": 1, "objects": 3}
    assert xml_names(tmp_path / "ei") == ["testing", "training"]
    assert xml_names(tmp_path / "ei/testing") == ["seed1_pb.jpg", "seed1_pb.xml"]
    root = ElementTree.parse(tmp_path / "ei/training/seed0_pa.xml").getroot()
    assert root.findtext("path") == "training/seed0_pa.jpg"
    boxes = [edge_impulse_box(o.find("bndbox")) for o in root.iter("object")]
    for box, labeled in zip(boxes, [[0, 0, W, H], [10, 20, 30, 40]]):
        x1, y1, x2, y2 = labeled
        assert box == {"x": x1, "y": y1, "width": x2 - x1, "height": y2 - y1}


@pytest.mark.fault("exports: boxes under one pixel after rounding")
def test_integer_boxes_are_never_empty():
    assert voc_format.pixel_box([10.4, 10.6, 10.5, 10.6], W, H) == (10, 11, 11, 12)
    assert voc_format.voc_box([10.4, 10.6, 10.5, 10.6], W, H) == (11, 12, 11, 12)
    for x1 in np.linspace(-2, W + 2, 97):
        xmin, _, xmax, _ = voc_format.pixel_box([x1, 0, x1 + 0.6, 1], W, H)
        assert 0 <= xmin < xmax <= W


def test_empty_images_can_be_kept_unlabeled(labels, tmp_path):
    counts = voc_format.export_voc([labels], tmp_path / "voc", "unlabeled", SPLIT)
    assert counts["test"] == 1 and counts["train"] == 2
    assert parse_voc(tmp_path / "voc/Annotations/seed1_pb.xml")[2] == []


@pytest.mark.fault("exports: boxes beyond the image border")
def test_boxes_are_clamped_to_the_image():
    assert voc_format.voc_box([-5.2, -1, W + 9, H + 0.4], W, H) == (1, 1, W, H)
    assert voc_format.voc_box([W + 3, 10, W + 8, 12], W, H) == (
        W,
        11,
        W,
        12,
    )  # outside: 1 px at the edge
    assert voc_format.pixel_box([W + 3, 10, W + 8, 12], W, H) == (W - 1, 10, W, 12)


def test_export_names_never_spell_a_split():
    for seed in range(200):
        for pid in ("p" + format(seed * 7919, "012x"), "pfffffffffffa"):
            for item in (
                {"kind": "image", "seed": seed, "id": pid},
                {"kind": "frame", "seed": seed, "video": pid, "image": "f/00012.jpg"},
            ):
                assert not re.search("train|test|val", naming.export_name(item))


def coco_file(folder, side):
    return folder / "annotations" / f"instances_{side}.json"


def test_coco_loads_with_pycocotools_and_masks_decode_to_the_boxes(labels, tmp_path):
    from pycocotools.coco import COCO

    coco_format.export_coco([labels], tmp_path / "coco", "d", "unlabeled", SPLIT)
    coco = COCO(str(coco_file(tmp_path / "coco", "train")))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == CLASSES
    assert len(coco.getImgIds()) == 2 and len(coco.getAnnIds()) == 3
    for annotation in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(annotation)
        assert annotation["area"] == mask.sum()
        ys, xs = np.nonzero(mask)
        x, y, w, h = annotation["bbox"]
        assert [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] == [x, y, x + w, y + h]
    track = [a for a in coco.loadAnns(coco.getAnnIds()) if "track_id" in a]
    assert [a["track_id"] for a in track] == [1]  # the dataset's first track, not the video's 4
    test = COCO(str(coco_file(tmp_path / "coco", "test")))
    assert [i["file_name"] for i in test.loadImgs(test.getImgIds())] == ["seed1_pb.jpg"]


def test_coco_area_is_the_box_area_when_boxes_come_from_the_detector(labels, tmp_path):
    data = json.loads(labels.read_text())
    data["thresholds"]["box_from"] = "detector"
    data["items"][0]["objects"][1]["box"] = [12.5, 20, 30, 40]  # the detector's box, not the mask's
    write_json(labels, data)
    written = coco_format.export_coco([labels], tmp_path / "coco", "d", "skip", SPLIT)
    annotation = written["train"]["annotations"][1]
    assert annotation["bbox"] == [12.5, 20, 17.5, 20] and annotation["area"] == 17.5 * 20
    assert written["train"]["info"]["box_from"] == "detector"


def test_coco_area_is_the_box_area_when_sam2_gave_an_empty_mask(labels, tmp_path):
    data = json.loads(labels.read_text())
    empty = rle.encode(np.zeros((H, W), dtype=bool))
    data["items"][0]["objects"][1].update(box=[10, 20, 30, 40], mask=empty)  # detector's box
    write_json(labels, data)
    written = coco_format.export_coco([labels], tmp_path / "coco", "d", "skip", SPLIT)
    assert written["train"]["annotations"][1]["area"] == 20 * 20


def test_coco_image_ids_are_stable_across_reruns(labels, tmp_path):
    first = coco_format.export_coco([labels], tmp_path / "1", "d", "unlabeled", SPLIT)
    again = coco_format.export_coco([labels], tmp_path / "2", "d", "unlabeled", SPLIT)
    assert [i["id"] for i in first["train"]["images"]] == [
        i["id"] for i in again["train"]["images"]
    ]
    image = first["train"]["images"][0]
    assert image["id"] == naming.stable_image_id(image["file_name"])


def test_yolo_export(labels, tmp_path):
    import yaml

    yolo_format.export_yolo([labels], tmp_path / "yolo", "unlabeled", SPLIT)
    detect, segment = tmp_path / "yolo/detect", tmp_path / "yolo/segment"
    data = yaml.safe_load((detect / "data.yaml").read_text())
    assert data == {
        "train": "images/train",
        "val": "images/test",
        "names": {0: "can", 1: ODD},
        "test": "images/test",
    }
    lines = (detect / "labels/train/seed0_pa.txt").read_text().splitlines()
    assert lines[0] == "0 0.500000 0.500000 1.000000 1.000000"
    assert (detect / "images/train/seed0_pa.jpg").is_file()
    assert (detect / "labels/test/seed1_pb.txt").read_text() == ""
    # Segmentation: the mask's outline on pixel edges, here pixels 10..29 x 20..39.
    polygon = (segment / "labels/train/seed0_pa.txt").read_text().splitlines()[1].split()
    points = np.array(polygon[1:], dtype=float).reshape(-1, 2) * [W, H]
    assert polygon[0] == "1" and len(points) == 4
    assert (points.min(axis=0).round().tolist(), points.max(axis=0).round().tolist()) == (
        [10, 20],
        [30, 40],
    )
    assert yaml.safe_load((segment / "data.yaml").read_text()) == data


@pytest.mark.fault("exports: hostile class names in overlays")
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
    assert (
        out["csv"].read_text().splitlines()[0] == "class,objects,score_mean,score_min,area_median"
    )
    assert out["plot"].stat().st_size > 1000


def test_evaluation_scores_perfect_and_wrong_labels(tmp_path):
    truth = [
        {"class": "can", "box": [10, 10, 30, 30], "track": 0},
        {"class": "can", "box": [40, 10, 60, 30], "track": 1},
    ]
    manifest = {"seed": 0, "items": [{"id": "pa", "status": "made", "ground_truth": truth}]}
    write_json(tmp_path / "m.json", manifest)

    def score(objects):
        item = {
            "id": "pa",
            "kind": "image",
            "seed": 0,
            "image": "x.jpg",
            "width": W,
            "height": H,
            "objects": objects,
        }
        write_json(tmp_path / "l.json", {"classes": ["can"], "items": [item], "skipped": []})
        return evaluation.evaluate([tmp_path / "l.json"], [tmp_path / "m.json"], [])

    perfect = score([dict(t, score=0.9) for t in truth])
    assert (perfect["precision"], perfect["recall"], perfect["map50"]) == (1.0, 1.0, 1.0)
    half = score(
        [
            {"class": "can", "box": [10, 10, 30, 30], "score": 0.9},
            {"class": "can", "box": [0, 40, 5, 45], "score": 0.8},
        ]
    )
    assert (half["precision"], half["recall"]) == (0.5, 0.5) and 0 < half["map50"] < 1


def test_every_format_holds_the_same_items_on_the_same_side(labels, tmp_path):
    voc_format.export_voc([labels], tmp_path / "voc", "unlabeled", SPLIT)
    voc_format.export_edge_impulse([labels], tmp_path / "ei", "unlabeled", SPLIT)
    coco = coco_format.export_coco([labels], tmp_path / "coco", "d", "unlabeled", SPLIT)
    yolo_format.export_yolo([labels], tmp_path / "yolo", "unlabeled", SPLIT)
    for side, ei_folder in voc_format.EDGE_IMPULSE_FOLDERS.items():
        stems = (tmp_path / f"voc/ImageSets/Main/{side}.txt").read_text().split()
        names = {f"{stem}.jpg" for stem in stems}
        assert names == {image["file_name"] for image in coco[side]["images"]}
        assert names == {p.name for p in (tmp_path / "ei" / ei_folder).glob("*.jpg")}
        for task in ("detect", "segment"):
            assert names == {p.name for p in (tmp_path / "yolo" / task / "images" / side).iterdir()}


def test_a_seed_keeps_its_side_when_seeds_are_added():
    settings = {"test_fraction": 0.2, "seed": 0}
    before = {s: split.side_of_seed(s, settings) for s in range(100)}
    items = [{"seed": s} for s in range(1000)]
    after = split.split_items(items, settings)
    assert all(
        before[item["seed"]] == side for side in after for item in after[side] if item["seed"] < 100
    )
    assert 150 < len(after["test"]) < 250  # about a fifth of the seeds
    other = split.split_items(items, {**settings, "seed": 1})
    assert other["test"] != after["test"]  # the split's seed chooses another split
    assert split.split_items(items, {**settings, "test_fraction": 0})["test"] == []


@pytest.mark.fault("exports: float boxes whose edges fall on half pixels")
def test_one_rounding_rule_keeps_whole_widths_wherever_a_box_sits():
    # Python's round() sends halves to even: [0.5, 1.5) was 2 px wide, [1.5, 2.5) 1 px.
    for width in (1, 2, 5):
        for x in np.arange(0, 40, 0.125):
            xmin, ymin, xmax, ymax = voc_format.pixel_box([x, x, x + width, x + width], W, H)
            assert (xmax - xmin, ymax - ymin) == (width, width), x
            vxmin, _, vxmax, _ = voc_format.voc_box([x, x, x + width, x + width], W, H)
            assert (vxmin - 1, vxmax) == (xmin, xmax)  # VOC: the same pixels, 1-based
    assert voc_format.pixel_box([0.5, 1.5, 2.5, 3.49], W, H) == (1, 2, 3, 3)  # halves up


def test_edge_impulse_boxes_of_equal_width_are_equally_wide(labels, tmp_path):
    data = json.loads(labels.read_text())
    data["thresholds"]["box_from"] = "detector"
    data["items"][0]["objects"] = [obj("can", [0, 0, 4, 4]) for _ in range(2)]
    data["items"][0]["objects"][0]["box"] = [0.5, 0.5, 1.5, 1.5]
    data["items"][0]["objects"][1]["box"] = [1.5, 10.5, 2.5, 11.5]
    write_json(labels, data)
    voc_format.export_edge_impulse([labels], tmp_path / "ei", "skip", SPLIT)
    root = ElementTree.parse(tmp_path / "ei/training/seed0_pa.xml").getroot()
    boxes = [edge_impulse_box(o.find("bndbox")) for o in root.iter("object")]
    assert [(b["width"], b["height"]) for b in boxes] == [(1, 1), (1, 1)]


def test_voc_labelmap_declares_the_ontology_for_datumaro_and_cvat(labels, tmp_path):
    voc_format.export_voc([labels], tmp_path / "voc", "skip", SPLIT)
    lines = (tmp_path / "voc/labelmap.txt").read_text().splitlines()
    assert lines == [
        "# label:color_rgb:parts:actions",
        "background:0,0,0::",
        "can:128,0,0::",
        f"{ODD}:0,128,0::",
    ]
    # Read as Datumaro's parse_label_map does: 4 ':' fields, an r,g,b triplet.
    for line in lines[1:]:
        name, colour, parts, actions = line.split(":")
        assert len(colour.split(",")) == 3 and parts == actions == ""
    assert voc_format.voc_colour(15) == [192, 128, 128]  # VOC's 'person'


def test_a_class_name_the_labelmap_cannot_hold_is_refused_by_name():
    with pytest.raises(ValueError, match="class 'a:b' cannot be written to voc/labelmap.txt"):
        voc_format.voc_labelmap(["can", "a:b"])


def test_coco_is_in_the_standard_layout_with_its_images(labels, tmp_path):
    coco_format.export_coco([labels], tmp_path / "coco", "d", "unlabeled", SPLIT)
    found = sorted(str(p.relative_to(tmp_path / "coco")) for p in (tmp_path / "coco").rglob("*"))
    assert found == [
        "annotations",
        "annotations/instances_test.json",
        "annotations/instances_train.json",
        "images",
        "images/test",
        "images/test/seed1_pb.jpg",
        "images/train",
        "images/train/seed0_pa.jpg",
        "images/train/seed0_pv_f00003.jpg",
    ]


def yolo_points(line, width=W, height=H):
    values = line.split()
    points = np.array(values[1:], dtype=float).reshape(-1, 2) * [width, height]
    return int(values[0]), points.round(2)  # 6 decimals of a fraction: 1/100 px


def test_yolo_polygons_cover_every_part_of_a_mask_on_pixel_edges(labels, tmp_path):
    data = json.loads(labels.read_text())
    parts = np.zeros((H, W), dtype=bool)
    parts[5:15, 5:15] = True  # 10x10
    parts[30:50, 40:70] = True  # a second part, far from the first
    parts[52, 75] = True  # a single pixel
    data["items"][0]["objects"] = [
        obj("can", [0, 0, W, H]),
        {"class": "can", "score": 0.9, "box": [5, 5, 76, 53], "mask": rle.encode(parts)},
        obj("can", [5, 5, 15, 15]),
    ]
    write_json(labels, data)
    yolo_format.export_yolo([labels], tmp_path / "yolo", "skip", SPLIT)
    lines = (tmp_path / "yolo/segment/labels/train/seed0_pa.txt").read_text().splitlines()
    boxes = [(p.min(axis=0).tolist(), p.max(axis=0).tolist()) for _, p in map(yolo_points, lines)]
    assert boxes[0] == ([0, 0], [W, H])  # a full-image mask reaches 1.0
    assert lines[0].split()[1:] == ["0.000000", "0.000000", "0.000000", "1.000000"] + [
        "1.000000",
        "1.000000",
        "1.000000",
        "0.000000",
    ]
    assert boxes[1] == ([5, 5], [76, 53])  # all three parts, not only the largest
    assert boxes[2] == ([5, 5], [15, 15])  # a 10x10 mask is a 10x10 polygon
    # The polygon's box is the detect label's box.
    detect = (tmp_path / "yolo/detect/labels/train/seed0_pa.txt").read_text().splitlines()
    for line, (low, high) in zip(detect, boxes):
        cx, cy, w, h = map(float, line.split()[1:])
        assert np.allclose(
            [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], [*low, *high] / np.array([W, H, W, H])
        )


def test_polygon_outline_has_the_mask_area_and_box():
    import cv2

    for radius in range(1, 12):
        pixels = np.zeros((30, 30), dtype=np.uint8)
        cv2.circle(pixels, (15, 14), radius, 1, -1)
        outline = polygons.mask_polygon(pixels.astype(bool))
        assert cv2.contourArea(outline.astype(np.float32)) == pixels.sum()
        ys, xs = np.nonzero(pixels)
        assert outline.min(axis=0).tolist() == [xs.min(), ys.min()]
        assert outline.max(axis=0).tolist() == [xs.max() + 1, ys.max() + 1]
    assert polygons.mask_polygon(np.zeros((4, 4), dtype=bool)) is None


def test_parts_are_joined_as_ultralytics_joins_them():
    converter = pytest.importorskip("ultralytics.data.converter")
    rng = np.random.default_rng(0)
    for _ in range(100):
        outlines = polygons.edge_outlines(rng.random((30, 40)) > 0.95)
        if len(outlines) < 2:
            continue
        theirs = converter.merge_multi_segment([o.ravel().tolist() for o in outlines])
        assert np.array_equal(polygons.join_outlines(outlines), np.concatenate(theirs))


@pytest.mark.parametrize("empty_side", ["train", "test"])
def test_yolo_data_yaml_points_an_empty_side_at_the_other(labels, tmp_path, empty_side):
    import yaml

    # test_fraction 0 puts every seed on the train side, 1 on the test side.
    settings = {"test_fraction": 1.0 if empty_side == "train" else 0.0, "seed": 0}
    yolo_format.export_yolo([labels], tmp_path / "yolo", "unlabeled", settings)
    data = yaml.safe_load((tmp_path / "yolo/detect/data.yaml").read_text())
    full = "images/test" if empty_side == "train" else "images/train"
    assert (data["train"], data["val"]) == (full, full)
    assert any((tmp_path / "yolo/detect" / full).iterdir())


def one_object_per_class(tmp_path, classes):
    """A labels file with one image holding one object of each class."""
    image = tmp_path / "one.jpg"
    Image.new("RGB", (W, H), "white").save(image)
    objects = [obj(name, [i % 40, 0, i % 40 + 20, 20]) for i, name in enumerate(classes)]
    item = {"id": "p1", "kind": "image", "seed": 0, "image": str(image)}
    item.update(width=W, height=H, objects=objects)
    path = tmp_path / "labels.json"
    labels = {"classes": classes, "thresholds": {"box_from": "mask"}, "items": [item]}
    write_json(path, {**labels, "skipped": []})
    return path


FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tx", "'=quoted", "ok"]


# Issue 16, finding 9: per_class.csv held a class named =HYPERLINK(...) as a live formula.
@pytest.mark.fault("statistics: class names that a spreadsheet runs as formulas")
def test_per_class_csv_neutralises_formulas_and_reads_back(tmp_path):
    import csv

    out = {"json": tmp_path / "s.json", "csv": tmp_path / "c.csv", "plot": tmp_path / "p.png"}
    stats.dataset_stats([one_object_per_class(tmp_path, FORMULAS)], {}, None, out)
    with open(out["csv"], newline="", encoding="utf-8") as handle:
        cells = [row["class"] for row in csv.DictReader(handle)]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), cells
    # The documented rule (README, statistics): drop one leading "'" where there is one.
    assert [cell.removeprefix("'") for cell in cells] == FORMULAS
    assert [stats.csv_text_value(cell) for cell in cells] == FORMULAS


# Issue 16, finding 4: a class named `$\mathrm{can$` crashed the plot (maths text).
@pytest.mark.fault("statistics: class names with $ in the plot")
def test_plot_shows_class_names_literally(tmp_path):
    import matplotlib.pyplot as plt

    names = ["$\\mathrm{can$", "$x$", "_hidden", "a\\$b", "100%"]
    table = stats.objects_table(
        json.loads(one_object_per_class(tmp_path, names).read_text())["items"]
    )
    stats.plot(table, names, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000
    figure, axes = plt.subplots()
    handles = [axes.bar([0], [1])[0] for _ in names]
    legend = stats.class_legend(axes, handles, names)
    figure.canvas.draw()  # maths text would be parsed here
    assert [text.get_text() for text in legend.get_texts()] == names
    assert not any(text.get_parse_math() for text in legend.get_texts())
    plt.close(figure)


# Issue 16, finding 3: the XML is read back before it is written, so a name XML cannot hold
# (the config check refuses it; this is the export's own guard) stops the export.
@pytest.mark.parametrize("export", [voc_format.export_voc, voc_format.export_edge_impulse])
@pytest.mark.fault("exports: a class name XML cannot hold")
def test_an_xml_that_does_not_read_back_stops_the_export(tmp_path, export):
    labels = one_object_per_class(tmp_path, ["can", "tin\ufffe"])
    with pytest.raises(ValueError, match=r"annotation XML of seed0_p1.jpg is not well-formed"):
        export([labels], tmp_path / "out", "skip", SPLIT)
    assert not (tmp_path / "out").exists()


def test_voc_xml_compiles_the_writer_template_once(monkeypatch):
    """pascal-voc-writer's constructor compiles its Jinja template (7 ms an item, the bulk of
    a 100,000-item VOC export): one Writer serves every annotation."""
    import pascal_voc_writer

    cached = getattr(voc_format, "blank_writer", None)
    if cached is not None:
        cached.cache_clear()
    built, construct = [], pascal_voc_writer.Writer.__init__

    def counted(self, *args, **kwargs):
        built.append(args)
        construct(self, *args, **kwargs)

    monkeypatch.setattr(pascal_voc_writer.Writer, "__init__", counted)
    objects = [{"class": "can", "box": [1.0, 2.0, 30.0, 40.0]}]
    first = voc_format.voc_xml("a.jpg", "JPEGImages", 64, 48, 3, objects, voc_format.voc_box)
    second = voc_format.voc_xml("b.jpg", "JPEGImages", 32, 16, 1, [], voc_format.voc_box)
    assert len(built) <= 1
    assert "<filename>a.jpg</filename>" in first and "<xmax>30</xmax>" in first
    assert "<filename>b.jpg</filename>" in second and "<depth>1</depth>" in second
    assert "<object>" not in second


class TrackedItem(dict):
    """A labeled item a weak reference can follow: alive while the statistics hold it."""

    __hash__ = object.__hash__


def test_stats_hold_one_parts_labels_at_a_time(labels, tmp_path, monkeypatch):
    """A dataset's labels (masks included) are many GB: the statistics keep a table of
    numbers, part by part, and the same figures as over all items at once."""
    import weakref

    from synthdet.core.atomic import read_json

    paths = []
    for part in range(3):
        paths.append(tmp_path / f"part{part}.json")
        paths[-1].write_text(labels.read_text())
    alive, seen = weakref.WeakSet(), []

    def tracked_read(path, needs=()):
        seen.append(len(alive))
        data = read_json(path)
        data["items"] = [TrackedItem(item) for item in data["items"]]
        alive.update(data["items"])
        return data

    monkeypatch.setattr(stats, "read_labels", tracked_read)
    monkeypatch.setattr(naming, "read_labels", tracked_read)
    out = {"json": tmp_path / "s.json", "csv": tmp_path / "c.csv", "plot": tmp_path / "p.png"}
    result = stats.dataset_stats(paths, {}, None, out)
    assert result["images"] == 6 and result["frames"] == 3 and result["objects"] == 9
    assert result["items_without_objects"] == 3
    assert max(seen) == 0, f"items alive when a part was read: {seen}"


def test_a_mask_decodes_cut_to_its_box_as_pycocotools_decodes_it():
    """YOLO's polygons decode each mask only over its box (a whole 1280x704 frame per
    mask was most of a 100,000-item export): the same pixels as pycocotools' decode."""
    rng = np.random.default_rng(1)
    masks = [np.zeros((5, 7), dtype=bool), np.ones((5, 7), dtype=bool)]
    for _ in range(100):
        shape = (int(rng.integers(1, 60)), int(rng.integers(1, 60)))
        masks.append(rng.random(shape) < rng.random() * 0.5)
    for mask in masks:
        encoded = rle.encode(mask)
        crop, left, top = rle.decode_crop(encoded)
        if not mask.any():
            assert crop is None
            continue
        rows, cols = np.nonzero(rle.decode(encoded))
        assert (left, top) == (cols.min(), rows.min())
        assert np.array_equal(crop, mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])


def test_a_crowded_export_folder_is_a_warning_naming_the_setting(
    labels, tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(naming, "CROWDED_FOLDER", 1)
    voc_format.export_voc([labels], tmp_path / "voc", "unlabeled", SPLIT)
    assert f"{tmp_path}/voc/JPEGImages holds 3 entries" in caplog.text
    assert "exports.shard_parts" in caplog.text
