"""The procedural STAND-IN video propagator (not SAM 2): seeded masks move with the
generator's known motion."""

import numpy as np
import pytest

from synthdet.core import rle
from synthdet.label import tracking
from synthdet.label.stand_in_tracking import ProceduralStandInPropagator, shifted

HEIGHT, WIDTH = 20, 40


def box_mask(box):
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return mask


def seed(box):
    return {"mask": rle.encode(box_mask(box))}


def truth(*paths):
    """Ground truth from per-object lists of boxes, one box (or None: absent) per frame."""
    frames = []
    for frame in range(len(paths[0])):
        objects = [
            {"class": "can", "box": list(path[frame]), "track": index}
            for index, path in enumerate(paths)
            if path[frame] is not None
        ]
        frames.append(objects)
    return frames


def moving(x, y, size, speed, frames):
    return [(x + speed * f, y, x + speed * f + size, y + size) for f in range(frames)]


def boxes(result, track_id=0):
    return {frame: masks[track_id]["box"] for frame, masks in result.items()}


def test_a_seed_moves_with_the_object_it_lies_on():
    ground = truth(moving(2, 2, 6, 3, 6))
    propagate = ProceduralStandInPropagator(ground, 6, "video v")
    # The seed covers part of the object and a little backdrop: its shape moves whole.
    result = propagate(1, {0: seed((4, 3, 10, 7))}, 3, False)
    assert boxes(result) == {
        1: [4, 3, 10, 7],
        2: [7, 3, 13, 7],
        3: [10, 3, 16, 7],
        4: [13, 3, 19, 7],
    }
    assert result[4][0]["area"] == 24
    assert np.array_equal(rle.decode(result[4][0]["mask"]), box_mask((13, 3, 19, 7)))


def test_each_seed_follows_the_object_it_overlaps_most():
    ground = truth(moving(0, 0, 8, 2, 3), moving(20, 10, 8, -4, 3))
    propagate = ProceduralStandInPropagator(ground, 3, "video v")
    # Track 5 lies mostly on object 1 (moving left), track 6 on the backdrop only.
    result = propagate(0, {5: seed((6, 8, 26, 18)), 6: seed((30, 0, 34, 4))}, 2, False)
    assert boxes(result, 5)[2] == [0, 8, 18, 18]  # moved 8 left, clipped at x = 0
    assert boxes(result, 6) == {0: [30, 0, 34, 4], 1: [30, 0, 34, 4], 2: [30, 0, 34, 4]}


def test_a_mask_is_clipped_to_the_frame_and_empty_once_moved_out():
    ground = truth(moving(30, 5, 6, 4, 4))  # the ground truth lets it run off the frame
    propagate = ProceduralStandInPropagator(ground, 4, "video v")
    result = propagate(0, {0: seed((30, 5, 36, 11))}, 3, False)
    assert boxes(result) == {
        0: [30, 5, 36, 11],
        1: [34, 5, 40, 11],
        2: [38, 5, 40, 11],
        3: [0, 0, 0, 0],
    }
    assert [result[f][0]["area"] for f in range(4)] == [36, 36, 12, 0]


def test_an_object_that_left_the_frame_gives_an_empty_mask():
    path = moving(2, 2, 6, 1, 5)
    path[3] = path[4] = None  # gone from the ground truth: it left the frame
    propagate = ProceduralStandInPropagator(truth(path), 5, "video v")
    result = propagate(0, {0: seed((2, 2, 8, 8))}, 4, False)
    assert [result[f][0]["area"] for f in range(5)] == [36, 36, 36, 0, 0]


def test_reverse_goes_back_from_start_to_the_first_frame_at_most():
    ground = truth(moving(2, 2, 6, 3, 6))
    propagate = ProceduralStandInPropagator(ground, 6, "video v")
    result = propagate(4, {0: seed((14, 2, 20, 8))}, 2, True)
    assert list(result) == [4, 3, 2]  # in the order SAM 2's reverse propagation yields
    assert boxes(result) == {4: [14, 2, 20, 8], 3: [11, 2, 17, 8], 2: [8, 2, 14, 8]}
    # Asked for more frames than there are: it stops at frame 0, as SAM 2 does.
    assert list(propagate(1, {0: seed((5, 2, 11, 8))}, 5, True)) == [1, 0]
    assert list(propagate(4, {0: seed((14, 2, 20, 8))}, 5, False)) == [4, 5]


def test_shifted_cuts_at_every_border():
    mask = box_mask((0, 0, WIDTH, HEIGHT))
    assert shifted(mask, -5, 3).sum() == (WIDTH - 5) * (HEIGHT - 3)
    assert not shifted(mask, 0, -HEIGHT).any() and not shifted(mask, WIDTH + 1, 0).any()


def test_tracks_span_the_video_through_the_real_tracking():
    """Keyframe detections on the generator's object keep one track id over all frames."""
    path = moving(2, 2, 6, 3, 9)
    propagate = ProceduralStandInPropagator(truth(path), 9, "video v")
    tracks = tracking.track_video(
        9,
        lambda key: [([0.9], {"mask": rle.encode(box_mask(path[key]))})],
        propagate,
        detect_every=3,
        match_iou=0.5,
        reverse=True,
        iou=lambda a, b: rle.iou_matrix([r["mask"] for r in a], [r["mask"] for r in b]),
        present=lambda record: record["area"] > 0,
    )
    assert list(tracks) == [0]
    assert {f: m["box"] for f, m in tracks[0]["masks"].items()} == {
        f: list(path[f]) for f in range(9)
    }


@pytest.mark.parametrize(
    "ground, frame_count, problem",
    [
        (None, 1, "needs the frames manifest's ground_truth"),
        ([[{"box": [0, 0, 4, 4]}]], 1, "ground_truth of frame 0: each object needs"),
        ([[{"box": [0, 0, 4], "track": 0}]], 1, "ground_truth of frame 0: each object needs"),
        ([[{"box": [0, 0, 4, 4], "track": 0}] * 2], 1, "unique integer 'track'"),
        ([[], "x"], 2, "ground_truth of frame 1"),
        ([[]], 2, "ground_truth has 1 frames, the video 2"),
    ],
)
def test_malformed_ground_truth_is_refused_naming_the_video(ground, frame_count, problem):
    with pytest.raises(ValueError, match="^frames manifest of video v: ") as error:
        ProceduralStandInPropagator(ground, frame_count, "frames manifest of video v")
    assert problem in str(error.value)


def test_a_video_without_ground_truth_stops_the_job_naming_it():
    from synthdet.label.video_labeling import video_propagator

    entry = {"id": "p1", "seed": 3, "frames": [{"file": "00000.jpg", "source_index": 0}]}
    with pytest.raises(ValueError, match=r"^frames manifest of video p1 \(seed 3\): .* needs"):
        video_propagator(None, entry, stand_in=True)
