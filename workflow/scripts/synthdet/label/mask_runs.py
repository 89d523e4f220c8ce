"""SAM 2 masks to COCO RLE, with the run lengths found on the device: only the short
run lists cross to the host, never 4-byte-a-pixel dense masks."""

import numpy as np
import torch

from ..core import rle


def column_major_runs(masks):
    """(N, H, W) bool tensor -> N arrays of run lengths over each mask's pixels in
    column-major order, starting with a run of zeros (COCO's uncompressed RLE)."""
    count = masks.shape[0]
    flat = masks.transpose(1, 2).reshape(count, -1)
    length = flat.shape[1]
    changes = torch.nonzero(flat[:, 1:] != flat[:, :-1]).cpu().numpy()
    starts_on = flat[:, 0].cpu().numpy()
    rows, edges = changes[:, 0], changes[:, 1] + 1
    runs = []
    for index, inner in enumerate(np.split(edges, np.searchsorted(rows, np.arange(1, count)))):
        counts = np.diff(np.concatenate(([0], inner, [length])))
        runs.append(np.concatenate(([0], counts)) if starts_on[index] else counts)
    return runs


def rounded(values, digits=2):
    return [round(float(v), digits) for v in values]


def mask_records(runs, height, width):
    """Run lists -> {"mask": RLE, "box", "area"} records (the stored form of a mask)."""
    return [
        {"mask": encoded, "box": rounded(box), "area": area}
        for encoded, area, box in rle.from_runs(runs, height, width)
    ]
