"""Masks as COCO run-length encodings (column-major, compressed counts as text)."""

import numpy as np
from pycocotools import mask as coco_mask


def encode(mask):
    """A boolean HxW mask as {"size": [h, w], "counts": str}."""
    rle = coco_mask.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def from_runs(runs, height, width):
    """COCO RLEs from uncompressed column-major run lengths (zeros first), one array per
    mask. Returns a list of (rle, area, [x1, y1, x2, y2]); pycocotools compresses in C."""
    if not runs:
        return []
    objects = [{"counts": counts.tolist(), "size": [height, width]} for counts in runs]
    encoded = coco_mask.frPyObjects(objects, height, width)
    areas = coco_mask.area(encoded)
    boxes = coco_mask.toBbox(encoded)
    return [
        (
            {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")},
            int(area),
            [float(x), float(y), float(x + w), float(y + h)],
        )
        for rle, area, (x, y, w, h) in zip(encoded, areas, boxes)
    ]


def to_coco(rle):
    return {"size": rle["size"], "counts": rle["counts"].encode("ascii")}


def decode(rle):
    return coco_mask.decode(to_coco(rle)).astype(bool)


def area(rle):
    return int(coco_mask.area(to_coco(rle)))


def bbox_xyxy(rle):
    """Tight pixel box [x1, y1, x2, y2] (x2, y2 exclusive) of the mask; zeros if empty."""
    x, y, w, h = coco_mask.toBbox(to_coco(rle)).tolist()
    return [x, y, x + w, y + h]


def iou_matrix(rles_a, rles_b):
    if not rles_a or not rles_b:
        return np.zeros((len(rles_a), len(rles_b)))
    a = [to_coco(r) for r in rles_a]
    b = [to_coco(r) for r in rles_b]
    return np.asarray(coco_mask.iou(a, b, [0] * len(b)), dtype=np.float64).reshape(len(a), len(b))
