"""Exports of a dataset's labels, each split into train and test by seed batch
(`split.py`): Pascal VOC in its standard layout, the same boxes as Edge Impulse's
uploader reads them, COCO instance segmentation with RLE masks, and YOLO for detection
and for segmentation (MOT sequences of the videos: `mot.py`).

Every labeled image or frame gets one export name, used by all formats:
`seed<S>_<prompt id>.jpg` for an image, `seed<S>_<prompt id>_f<frame>.jpg` for a
frame. Such a name never holds `train`, `test` or `val` (prompt ids are hex), which
Edge Impulse's uploader would otherwise read as a split. No file holds a path outside
its export folder, so the exports are the same wherever the checkout lives.
"""

import hashlib
import logging
import math
import os
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import yaml

from ..core import rle
from ..core.atomic import read_json, staged_dir, write_json, write_text
from ..core.media import open_image
from ..core.names import excerpt
from . import identity, polygons
from .split import TEST, TRAIN, split_items

log = logging.getLogger(__name__)

EMPTY_SKIP, EMPTY_UNLABELED = "skip", "unlabeled"
# Edge Impulse's uploader takes the split from these folder names.
EDGE_IMPULSE_FOLDERS = {TRAIN: "training", TEST: "testing"}


def export_name(item):
    if item["kind"] == "frame":
        return f"seed{item['seed']}_{item['video']}_f{Path(item['image']).stem}.jpg"
    return f"seed{item['seed']}_{item['id']}.jpg"


def labeled_items(label_paths):
    """Every labeled item of the dataset, in a stable order, with the class list."""
    items, classes = [], None
    for path in label_paths:
        labels = read_json(path)
        classes = labels["classes"] or classes
        items += labels["items"]
    return sorted(items, key=export_name), classes or []


def box_source(label_paths):
    """Where the labels' boxes come from: `box_from` of the thresholds that made them."""
    sources = {read_json(path)["thresholds"]["box_from"] for path in label_paths}
    return sources.pop() if len(sources) == 1 else "mask"


def kept_items(items, empty_images):
    """The items every format exports: with `skip`, items with no object are left out."""
    if empty_images == EMPTY_SKIP:
        return [item for item in items if item["objects"]]
    return items


def exported_items(label_paths, empty_images):
    items, classes = labeled_items(label_paths)
    return kept_items(items, empty_images), classes


def link_or_copy(source, target):
    """A hard link where the filesystem allows it (no extra space), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def pixel_edge(value):
    """A float box edge to the nearest pixel edge, halves up: the one rounding rule of
    every integer box. The same rule on both edges keeps a box of whole width that wide
    wherever it sits (Python's round() sends halves to even: a 1.0-wide box at x=0.5
    became 2 px, at x=1.5 1 px)."""
    return math.floor(value + 0.5)


def pixel_span(low, high, size):
    """Float edges [low, high) -> integer [start, end) inside 0..size, at least 1 pixel."""
    start = min(max(pixel_edge(low), 0), size - 1)
    end = min(max(pixel_edge(high), start + 1), size)
    return start, end


def pixel_box(box, width, height):
    """Pixel box [x1, y1, x2, y2) -> integers (xmin, ymin, xmax, ymax), 0-based with
    exclusive max: the labeled pixels are xmin..xmax-1. Never empty."""
    xmin, xmax = pixel_span(box[0], box[2], width)
    ymin, ymax = pixel_span(box[1], box[3], height)
    return xmin, ymin, xmax, ymax


def voc_box(box, width, height):
    """The same pixels in VOC's 1-based inclusive convention: 0-based pixels 0..9 are
    xmin=1, xmax=10 (torchvision, Datumaro and VOC's own tools read it so)."""
    xmin, ymin, xmax, ymax = pixel_box(box, width, height)
    return xmin + 1, ymin + 1, xmax, ymax


def voc_xml(name, folder, width, height, depth, objects, to_integers):
    """The annotation XML, written through pascal-voc-writer's template. `path` is the
    image's path inside the export folder, never where the checkout lives.

    The writer does not escape: every text that reaches the template is escaped here.
    """
    from pascal_voc_writer import Writer

    writer = Writer(name, width, height, depth=depth)
    writer.template_parameters.update(
        path=escape(f"{folder}/{name}"), filename=escape(name), folder=escape(folder)
    )
    for obj in objects:
        writer.addObject(escape(obj["class"]), *to_integers(obj["box"], width, height))
    xml = writer.annotation_template.render(**writer.template_parameters)
    return parsed_back(xml, name, [obj["class"] for obj in objects])


def parsed_back(xml, name, classes):
    """`xml` when an XML parser reads it back with the image's name and every class name
    as written; else a ValueError naming the file. Edge Impulse's uploader skips an XML it
    cannot parse and uploads the image with no boxes, so a bad one must stop the export."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as error:
        raise ValueError(f"the annotation XML of {name} is not well-formed: {error}") from None
    read = [obj.findtext("name") for obj in root.iter("object")]
    if root.findtext("filename") != name or read != classes:
        raise ValueError(
            f"the annotation XML of {name} reads back as {excerpt(str(read))}, "
            f"not {excerpt(str(classes))}"
        )
    return xml


def image_depth(path):
    with open_image(path) as image:
        return len(image.getbands())


def voc_counts(sides):
    counts = {side: len(items) for side, items in sides.items()}
    counts["objects"] = sum(len(item["objects"]) for items in sides.values() for item in items)
    return counts


def voc_colour(index):
    """Pascal VOC's palette colour of label `index` (0 is background's black), as VOC's
    devkit and Datumaro build it: the index's bits spread over the high bits of r, g, b."""
    colour = [0, 0, 0]
    for shift in range(7, -1, -1):
        for channel in range(3):
            colour[channel] |= ((index >> channel) & 1) << shift
        index >>= 3
    return colour


def voc_labelmap(classes):
    """labelmap.txt as Datumaro and CVAT read it (`name:r,g,b:parts:actions`), so they take
    the ontology's classes instead of VOC's 20. Background first, as their VOC exports write
    it. A name that would break a line (':', a leading '#', outer spaces) is refused."""
    names = classes if "background" in classes else ["background", *classes]
    lines = ["# label:color_rgb:parts:actions\n"]
    for index, name in enumerate(names):
        if ":" in name or name.startswith("#") or name != name.strip():
            raise ValueError(
                f"class {name!r} cannot be written to voc/labelmap.txt: Datumaro and CVAT read "
                "':' as its field separator, a leading '#' as a comment, and strip spaces"
            )
        lines.append(f"{name}:{','.join(map(str, voc_colour(index)))}::\n")
    return "".join(lines)


def export_voc(label_paths, out_dir, empty_images, split_settings):
    """Standard Pascal VOC: JPEGImages/, Annotations/ and ImageSets/Main/{train,test}.txt,
    boxes 1-based inclusive, and labelmap.txt with the classes."""
    items, classes = exported_items(label_paths, empty_images)
    sides = split_items(items, split_settings)
    labelmap = voc_labelmap(classes)
    with staged_dir(out_dir) as stage:
        write_text(stage / "labelmap.txt", labelmap)
        for folder in ("JPEGImages", "Annotations", "ImageSets/Main"):
            (stage / folder).mkdir(parents=True)
        for side, side_items in sides.items():
            stems = [Path(export_name(item)).stem for item in side_items]
            write_text(stage / "ImageSets/Main" / f"{side}.txt", "".join(f"{s}\n" for s in stems))
            for item in side_items:
                name = export_name(item)
                link_or_copy(item["image"], stage / "JPEGImages" / name)
                xml = voc_xml(
                    name,
                    "JPEGImages",
                    item["width"],
                    item["height"],
                    image_depth(item["image"]),
                    item["objects"],
                    voc_box,
                )
                write_text((stage / "Annotations" / name).with_suffix(".xml"), xml)
    return voc_counts(sides)


def export_edge_impulse(label_paths, out_dir, empty_images, split_settings):
    """training/ and testing/, each with images and same-named XML whose boxes are 0-based
    with exclusive max, so that the uploader's `x = xmin, width = xmax - xmin` gives
    exactly the labeled pixels."""
    items, _ = exported_items(label_paths, empty_images)
    sides = split_items(items, split_settings)
    with staged_dir(out_dir) as stage:
        for side, side_items in sides.items():
            folder = EDGE_IMPULSE_FOLDERS[side]
            (stage / folder).mkdir()
            for item in side_items:
                name = export_name(item)
                link_or_copy(item["image"], stage / folder / name)
                xml = voc_xml(
                    name,
                    folder,
                    item["width"],
                    item["height"],
                    image_depth(item["image"]),
                    item["objects"],
                    pixel_box,
                )
                write_text((stage / folder / name).with_suffix(".xml"), xml)
    return voc_counts(sides)


def stable_image_id(name):
    """An image id that depends only on the export name: the same across reruns."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:13], 16)  # < 2**53: safe in JSON


def coco_area(obj, box_from):
    """The area COCOeval buckets by: the mask's when the box is the mask's box, else the
    box's (with `box_from: detector`, or when SAM 2 gave an empty mask and the filter kept
    the detector's box), so that `bbox` and `area` always describe the same region."""
    mask_area = rle.area(obj["mask"])
    if box_from == "mask" and mask_area > 0:  # an empty mask left the detector's box
        return float(mask_area)
    x1, y1, x2, y2 = obj["box"]
    return float((x2 - x1) * (y2 - y1))


def coco_image(item, image_id, videos):
    """An image entry; a video frame also names its video (`video_id`), its position among
    the video's extracted frames (`frame_id`, from 0) and its frame number in the source
    video (`source_frame_index`)."""
    image = {
        "id": image_id,
        "file_name": export_name(item),
        "width": item["width"],
        "height": item["height"],
    }
    if item["kind"] == "frame":
        image["video_id"] = videos[identity.video_key(item)]
        image["frame_id"] = identity.frame_id(item)
        image["source_frame_index"] = item["source_index"]
    return image


def coco_videos(items, videos):
    """The `videos` list (as YouTube-VIS and TAO have it) of the videos among `items`."""
    found = {}
    for item in identity.video_frames(items):
        found.setdefault(
            videos[identity.video_key(item)],
            {"name": identity.video_name(item), "width": item["width"], "height": item["height"]},
        )
    return [{"id": video_id, **found[video_id]} for video_id in sorted(found)]


def coco_dataset(items, classes, box_from, description, ids):
    """`ids` holds the dataset-wide `videos` and `tracks` numbering (`identity.py`)."""
    category = {name: index + 1 for index, name in enumerate(classes)}
    images, annotations, seen = [], [], {}
    for item in items:
        name = export_name(item)
        image_id = stable_image_id(name)
        if seen.setdefault(image_id, name) != name:
            raise RuntimeError(f"image id collision between {seen[image_id]} and {name}")
        images.append(coco_image(item, image_id, ids["videos"]))
        for obj in item["objects"]:
            x1, y1, x2, y2 = obj["box"]
            annotation = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": category[obj["class"]],
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": coco_area(obj, box_from),
                "iscrowd": 0,
                "score": obj["score"],
                "segmentation": obj["mask"],
            }
            if item["kind"] == "frame":
                annotation["track_id"] = identity.object_track_id(item, obj, ids["tracks"])
            annotations.append(annotation)
    return {
        "info": {"description": description, "box_from": box_from},
        "categories": [
            {"id": i, "name": n, "supercategory": "object"} for n, i in category.items()
        ],
        "videos": coco_videos(items, ids["videos"]),
        "images": images,
        "annotations": annotations,
    }


def dataset_ids(items):
    """Video and track ids over every labeled item (`identity.py`), before any is left
    out: the same numbering in every export, on both sides."""
    return {"videos": identity.video_ids(items), "tracks": identity.track_ids(items)}


def export_coco(label_paths, out_dir, dataset, empty_images, split_settings):
    """COCO's standard layout, as Datumaro's and FiftyOne's importers take it:
    annotations/instances_<side>.json and the images under images/<side>/."""
    labeled, classes = labeled_items(label_paths)
    items, ids = kept_items(labeled, empty_images), dataset_ids(labeled)
    box_from = box_source(label_paths)
    written = {}
    with staged_dir(out_dir) as stage:
        (stage / "annotations").mkdir()
        for side, side_items in split_items(items, split_settings).items():
            description = f"{dataset} ({side}): labels from Grounding DINO + SAM 2"
            written[side] = coco_dataset(side_items, classes, box_from, description, ids)
            write_json(
                stage / "annotations" / f"instances_{side}.json", written[side], compact=True
            )
            (stage / "images" / side).mkdir(parents=True)
            for item in side_items:
                link_or_copy(item["image"], stage / "images" / side / export_name(item))
    return written


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
