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


def run_lengths(rle):
    """The uncompressed run lengths (zeros first, column-major) of a compressed RLE, as
    pycocotools' rleFrString reads COCO's text form, vectorized: each value is 5-bit chunks
    (0x20: more follow; 0x10 on the last: negative), and from the fourth on, a delta to the
    value two before."""
    chunks = np.frombuffer(rle["counts"].encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    if not len(chunks):
        return np.zeros(0, dtype=np.int64)
    last = (chunks & 0x20) == 0
    firsts = np.flatnonzero(np.concatenate([[True], last[:-1]]))
    shift = 5 * (
        np.arange(len(chunks)) - np.repeat(firsts, np.diff(np.append(firsts, len(chunks))))
    )
    values = np.add.reduceat((chunks & 0x1F) << shift, firsts)
    negative = (chunks[last] & 0x10) != 0
    values[negative] |= -1 << (shift[last][negative] + 5)
    counts = values.copy()
    counts[1::2] = np.cumsum(values[1::2])
    counts[2::2] = np.cumsum(values[2::2])
    return counts


def decode_crop(rle):
    """(mask, left, top): the mask cut to its box, without decoding the whole frame (a
    YOLO export decodes every mask, most a few % of the frame); (None, 0, 0) if empty."""
    height = rle["size"][0]
    runs = run_lengths(rle)
    ends = np.cumsum(runs)
    starts = ends - runs
    starts, ends = starts[1::2], ends[1::2]  # the runs of ones
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if not len(starts):
        return None, 0, 0
    left, right = int(starts[0] // height), int((ends[-1] - 1) // height)
    flat = np.zeros((right - left + 1) * height, dtype=bool)
    for start, end in zip((starts - left * height).tolist(), (ends - left * height).tolist()):
        flat[start:end] = True
    columns = flat.reshape(right - left + 1, height).T
    rows = np.flatnonzero(columns.any(axis=1))
    return columns[rows[0] : rows[-1] + 1], left, int(rows[0])
