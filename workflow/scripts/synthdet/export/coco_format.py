"""COCO instance segmentation with RLE masks, dataset-wide video and track ids, split into
train and test by seed batch (`split.py`)."""

from ..core import rle
from ..core.atomic import staged_dir, write_json
from . import identity
from .naming import (
    box_source,
    dataset_ids,
    export_name,
    kept_items,
    labeled_items,
    link_or_copy,
    stable_image_id,
    warn_if_crowded,
)
from .split import split_items


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


def export_coco(label_paths, out_dir, dataset, empty_images, split_settings, shard=0):
    """COCO's standard layout, as Datumaro's and FiftyOne's importers take it:
    annotations/instances_<side>.json and the images under images/<side>/. `shard` numbers
    the videos and tracks of one export shard (`identity.py`)."""
    labeled, classes = labeled_items(label_paths)
    items, ids = kept_items(labeled, empty_images), dataset_ids(labeled, shard)
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
            warn_if_crowded(f"{out_dir}/images/{side}", len(side_items))
            (stage / "images" / side).mkdir(parents=True)
            for item in side_items:
                link_or_copy(item["image"], stage / "images" / side / export_name(item))
    return written
