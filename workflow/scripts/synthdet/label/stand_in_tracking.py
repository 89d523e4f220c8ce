"""A STAND-IN for SAM 2's video predictor, for procedural datasets only.

It is NOT a tracker. The procedural generator knows where each of its objects is in
every extracted frame (the frames manifest's `ground_truth`, each object with a stable
`track` index), so this stand-in moves each seeded mask with the known motion of the
generator's object it overlaps most: the same shape, shifted by that object's
displacement since the seed frame, clipped to the frame. An object missing from a
frame's ground truth (it left the frame) gives an empty mask. A mask on no object (on
the backdrop, which never moves) stays where it is.

Its purpose is to exercise the tracking logic, the CPU filter and the exports end to
end on a CPU with tracks that span many frames, which the random-weight smoke SAM 2
cannot do (it loses every object at the next frame). The masks it starts from still
come from the detectors at the keyframes.
"""

import numpy as np

from ..core import rle
from .mask_runs import rounded

NAME = "procedural_stand_in"


class ProceduralStandInPropagator:
    """Called as Sam2Propagator is: (start, {track id: mask record}, count, reverse) ->
    {frame: {track id: mask record}} for frames start..start+count, or back to
    start-count when `reverse`, each including `start` and clipped to the video."""

    def __init__(self, ground_truth, frame_count, where):
        self.positions = object_positions(ground_truth, where)
        if len(self.positions) != frame_count:
            raise ValueError(
                f"{where}: ground_truth has {len(self.positions)} frames, the video "
                f"{frame_count}: the frames manifest does not describe these frames"
            )

    def __call__(self, start, seeds, count, reverse):
        last = len(self.positions) - 1
        if reverse:
            frames = range(start, max(start - count, 0) - 1, -1)
        else:
            frames = range(start, min(start + count, last) + 1)
        result = {frame: {} for frame in frames}
        for track_id, record in seeds.items():
            mask = rle.decode(record["mask"])
            followed = self.followed_object(mask, start)
            for frame in frames:
                moved = self.moved(mask, followed, start, frame)
                result[frame][int(track_id)] = mask_record(moved)
        return result

    def followed_object(self, mask, frame):
        """The index of the generator's object whose box holds most of `mask` at
        `frame`, or None when the mask lies on no object."""
        best, best_pixels = None, 0
        for index, (x1, y1, x2, y2) in sorted(self.positions[frame].items()):
            pixels = int(mask[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)].sum())
            if pixels > best_pixels:
                best, best_pixels = index, pixels
        return best

    def moved(self, mask, followed, start, frame):
        if followed is None:  # on the backdrop, which does not move
            return mask
        if followed not in self.positions[frame]:  # the object left the frame
            return np.zeros_like(mask)
        x_start, y_start = self.positions[start][followed][:2]
        x_now, y_now = self.positions[frame][followed][:2]
        return shifted(mask, x_now - x_start, y_now - y_start)


def shifted(mask, dx, dy):
    """`mask` moved by (dx, dy) pixels; what moves past the border is cut off."""
    height, width = mask.shape
    result = np.zeros_like(mask)
    if abs(dx) >= width or abs(dy) >= height:
        return result
    source = mask[max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
    result[max(0, dy) : height - max(0, -dy), max(0, dx) : width - max(0, -dx)] = source
    return result


def mask_record(mask):
    """The stored form of a mask, as mask_runs.mask_records writes it."""
    encoded = rle.encode(mask)
    return {"mask": encoded, "box": rounded(rle.bbox_xyxy(encoded)), "area": rle.area(encoded)}


def object_positions(ground_truth, where):
    """Per extracted frame, {object index: integer box} from a frames manifest's
    `ground_truth`. It comes from a file: a malformed one stops with `where` named."""
    if not isinstance(ground_truth, list):
        raise ValueError(
            f"{where}: the procedural stand-in propagator needs the frames manifest's "
            "ground_truth (one list of objects per extracted frame), and there is none"
        )
    positions = []
    for frame, objects in enumerate(ground_truth):
        found = {}
        for item in objects if isinstance(objects, list) else [None]:
            index, box = object_index_and_box(item)
            if index is None or index in found:
                raise ValueError(
                    f"{where}: ground_truth of frame {frame}: each object needs a unique "
                    f"integer 'track' and a 'box' of 4 integers, got {item!r}"
                )
            found[index] = box
        positions.append(found)
    return positions


def object_index_and_box(item):
    if not isinstance(item, dict):
        return None, None
    index, box = item.get("track"), item.get("box")
    if not is_integer(index) or not isinstance(box, list) or len(box) != 4:
        return None, None
    if not all(is_integer(v) for v in box):
        return None, None
    return index, tuple(box)


def is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)
