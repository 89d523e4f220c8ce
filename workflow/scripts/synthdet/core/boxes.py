"""Box arithmetic. Pixel boxes are [x1, y1, x2, y2] floats in image coordinates."""

import numpy as np


def cxcywh_to_xyxy(boxes, width, height):
    """Normalized (cx, cy, w, h), as detectors output them, to pixel xyxy clamped to the image."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    cx, cy, w, h = boxes.T
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    xyxy *= np.array([width, height, width, height])
    return clamp(xyxy, width, height)


def clamp(boxes, width, height):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    return boxes


def area(boxes):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)


def iou_matrix(a, b):
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clip(0).prod(axis=2)
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes, scores, iou_threshold, groups=None):
    """Indices kept by greedy non-maximum suppression, best score first.

    With `groups` (e.g. class ids), only boxes of the same group suppress each other;
    without, suppression is class-agnostic (synonyms of one object make duplicates).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    overlaps = iou_matrix(boxes, boxes)
    same_group = (
        np.ones_like(overlaps, dtype=bool)
        if groups is None
        else np.asarray(groups)[:, None] == np.asarray(groups)[None, :]
    )
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for index in order:
        if suppressed[index]:
            continue
        keep.append(int(index))
        suppressed |= (overlaps[index] > iou_threshold) & same_group[index]
    return keep
