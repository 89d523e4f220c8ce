"""Exports of a dataset's labels: Pascal VOC (upload-ready for Edge Impulse), COCO
instance segmentation with RLE masks, and YOLO.

Every labeled image or frame gets one export name, used by all formats:
`seed<S>_<prompt id>.jpg` for an image, `seed<S>_<prompt id>_f<frame>.jpg` for a
frame. Such a name never holds `train`, `test` or `val` (prompt ids are hex), which
Edge Impulse's uploader would otherwise read as a split.
"""

import hashlib
import os
import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image

from . import rle
from .atomic import read_json, staged_dir, write_json, write_text

EMPTY_SKIP, EMPTY_UNLABELED = "skip", "unlabeled"


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


def link_or_copy(source, target):
    """A hard link where the filesystem allows it (no extra space), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def voc_box(box, width, height):
    """Pixel box [x1, y1, x2, y2) -> VOC's 1-based inclusive integers inside the image.

    A box over 0-based pixels 0..9 is written xmin=1, xmax=10.
    """
    x1, y1, x2, y2 = box
    xmin = min(max(int(round(x1)) + 1, 1), width)
    ymin = min(max(int(round(y1)) + 1, 1), height)
    xmax = min(max(int(round(x2)), xmin), width)
    ymax = min(max(int(round(y2)), ymin), height)
    return xmin, ymin, xmax, ymax


def voc_xml(image_path, width, height, depth, objects):
    """The annotation XML, written through pascal-voc-writer's template.

    The writer does not escape: every text that reaches the template is escaped here.
    """
    from pascal_voc_writer import Writer

    writer = Writer(str(image_path), width, height, depth=depth)
    for key in ("path", "filename", "folder"):
        writer.template_parameters[key] = escape(writer.template_parameters[key])
    for obj in objects:
        writer.addObject(escape(obj["class"]), *voc_box(obj["box"], width, height))
    return writer.annotation_template.render(**writer.template_parameters)


def image_depth(path):
    with Image.open(path) as image:
        return len(image.getbands())


def export_voc(label_paths, out_dir, empty_images):
    """Images with same-named VOC XML side by side, ready for edge-impulse-uploader."""
    items, _ = labeled_items(label_paths)
    counts = {"images": 0, "objects": 0, "empty_skipped": 0, "empty_unlabeled": 0}
    with staged_dir(out_dir) as stage:
        for item in items:
            if not item["objects"]:
                if empty_images == EMPTY_SKIP:
                    counts["empty_skipped"] += 1
                    continue
                counts["empty_unlabeled"] += 1
            name = export_name(item)
            link_or_copy(item["image"], stage / name)
            xml = voc_xml(
                Path(out_dir).resolve() / name, item["width"], item["height"],
                image_depth(item["image"]), item["objects"],
            )  # fmt: skip
            write_text((stage / name).with_suffix(".xml"), xml)
            counts["images"] += 1
            counts["objects"] += len(item["objects"])
    return counts


def stable_image_id(name):
    """An image id that depends only on the export name: the same across reruns."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:13], 16)  # < 2**53: safe in JSON


def exported_items(label_paths, empty_images):
    """The items every format exports: with `skip`, items with no object are left out."""
    items, classes = labeled_items(label_paths)
    if empty_images == EMPTY_SKIP:
        items = [item for item in items if item["objects"]]
    return items, classes


def coco_dataset(label_paths, dataset, empty_images):
    items, classes = exported_items(label_paths, empty_images)
    category = {name: index + 1 for index, name in enumerate(classes)}
    images, annotations, seen = [], [], {}
    for item in items:
        name = export_name(item)
        image_id = stable_image_id(name)
        if seen.setdefault(image_id, name) != name:
            raise RuntimeError(f"image id collision between {seen[image_id]} and {name}")
        images.append({"id": image_id, "file_name": name, "width": item["width"],
                       "height": item["height"]})  # fmt: skip
        for obj in item["objects"]:
            x1, y1, x2, y2 = obj["box"]
            annotation = {
                "id": len(annotations) + 1, "image_id": image_id,
                "category_id": category[obj["class"]], "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": float(rle.area(obj["mask"])), "iscrowd": 0, "score": obj["score"],
                "segmentation": obj["mask"],
            }  # fmt: skip
            if "track" in obj:
                annotation["track_id"] = obj["track"]
            annotations.append(annotation)
    return {
        "info": {"description": f"{dataset}: labels from Grounding DINO + SAM 2",
                 "images_folder": "the dataset's voc/ folder holds every file_name"},  # fmt: skip
        "categories": [{"id": i, "name": n, "supercategory": "object"} for n, i in category.items()],
        "images": images,
        "annotations": annotations,
    }


def export_coco(label_paths, out_path, dataset, empty_images):
    coco = coco_dataset(label_paths, dataset, empty_images)
    write_json(out_path, coco, compact=True)
    return coco


def export_yolo(label_paths, out_dir, empty_images):
    """images/ and labels/ (class cx cy w h, normalized) plus classes.txt."""
    items, classes = exported_items(label_paths, empty_images)
    index = {name: i for i, name in enumerate(classes)}
    with staged_dir(out_dir) as stage:
        (stage / "images").mkdir()
        (stage / "labels").mkdir()
        write_text(stage / "classes.txt", "".join(f"{name}\n" for name in classes))
        for item in items:
            name = export_name(item)
            link_or_copy(item["image"], stage / "images" / name)
            lines = []
            for obj in item["objects"]:
                x1, y1, x2, y2 = obj["box"]
                w, h = item["width"], item["height"]
                lines.append(
                    f"{index[obj['class']]} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} "
                    f"{(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}\n"
                )
            write_text((stage / "labels" / name).with_suffix(".txt"), "".join(lines))
    return len(items)
