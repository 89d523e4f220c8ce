"""A mask as one polygon for YOLO segmentation labels.

Every connected part of the mask is outlined on pixel edges (pixel x covers [x, x+1)),
so the polygon of a 10x10 mask is 10x10 and its box equals the mask's box; the parts
are then joined into one polygon by thin bridges at their closest points, the way
Ultralytics' own COCO converter joins a multi-part segmentation (`merge_multi_segment`
in ultralytics/data/converter.py), because a YOLO label holds one polygon per object.
"""

import numpy as np


def edge_outlines(pixels):
    """The outer outline of each connected part (8-connected, as OpenCV's contours) of a
    boolean mask, as (N, 2) arrays of pixel-corner points.

    OpenCV traces the centres of border pixels. On the mask upsampled 2x, a border
    sub-pixel is the half of its pixel on the border's side: even coordinates are left or
    top halves, odd ones right or bottom halves, so ceil(u / 2) is the pixel edge the
    border runs along, corners included.
    """
    import cv2

    # The crop from the rows and columns that hold a pixel: np.nonzero over a whole frame
    # and np.kron cost more than the rest of a YOLO segment line together.
    rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
    if not len(rows):
        return []
    top, left = rows[0], cols[0]
    crop = pixels[top : rows[-1] + 1, left : cols[-1] + 1].view(np.uint8)
    doubled = np.ascontiguousarray(crop.repeat(2, axis=0).repeat(2, axis=1))
    contours, _ = cv2.findContours(doubled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outlines = []
    for contour in contours:
        corners = (contour.reshape(-1, 2) + 1) // 2 + np.array([left, top])
        outlines.append(without_repeats(corners))
    return outlines


def without_repeats(points):
    """Drops a point equal to the one before it (two sub-pixels can share a corner)."""
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.any(points[1:] != points[:-1], axis=1)
    if keep.sum() > 1 and np.array_equal(points[0], points[keep][-1]):
        keep[np.flatnonzero(keep)[-1]] = False
    return points[keep]


def closest_pair(a, b):
    """Indices (i, j) of the closest points a[i], b[j]; the first such pair on ties."""
    distances = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    i, j = np.unravel_index(np.argmin(distances), distances.shape)
    return int(i), int(j)


def join_outlines(outlines):
    """One polygon through every outline: each neighbour pair in the list is bridged at
    its closest points; the path runs around the first outline, along each middle one
    from its bridge in to its bridge out, around the last, then back along the middle
    ones' other sides. The same walk as Ultralytics' merge_multi_segment."""
    if len(outlines) == 1:
        return outlines[0]
    bridges = [[] for _ in outlines]  # per outline: point to the previous, to the next
    for k in range(1, len(outlines)):
        out_of_previous, into_this = closest_pair(outlines[k - 1], outlines[k])
        bridges[k - 1].append(out_of_previous)
        bridges[k].append(into_this)
    loops, middle_spans = [], []
    for k, (outline, ends) in enumerate(zip(outlines, bridges)):
        if len(ends) == 2 and ends[0] > ends[1]:  # walk a middle outline the other way
            outline, ends = outline[::-1], [len(outline) - 1 - e for e in ends]
        loop = np.roll(outline, -ends[0], axis=0)
        loop = np.concatenate([loop, loop[:1]])  # closed, starting at the bridge in
        loops.append(loop)
        middle_spans.append(ends[1] - ends[0] if len(ends) == 2 else None)
    forward = [
        loop if span is None else loop[: span + 1] for loop, span in zip(loops, middle_spans)
    ]
    # then the middle outlines' other sides, last to first
    backward = [loops[k][middle_spans[k] :] for k in range(len(loops) - 2, 0, -1)]
    return np.concatenate(forward + backward)


def mask_polygon(pixels):
    """The mask as one polygon of pixel-corner points, every part included; None for an
    empty mask."""
    outlines = edge_outlines(pixels)
    return join_outlines(outlines) if outlines else None
