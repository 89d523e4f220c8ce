"""Box conversions, RLE, NMS, the ontology, thresholds and tracking: pure logic."""

import numpy as np
import pytest

from synthdet.core import boxes, rle
from synthdet.label import label_filter, tracking
from synthdet.setup import ontology
from synthdet.setup.config import default_thresholds

CLASSES = {"can": ["soda can", "drink can"], "person": ["worker"], "forklift": ["forklift"]}


def test_cxcywh_to_pixel_xyxy_and_clamp():
    out = boxes.cxcywh_to_xyxy([[0.5, 0.5, 0.2, 0.4], [0.95, 0.1, 0.2, 0.4]], 200, 100)
    assert np.allclose(out, [[80, 30, 120, 70], [170, 0, 200, 30]])


def test_rle_round_trip_area_and_box():
    mask = np.zeros((70, 90), dtype=bool)
    mask[10:30, 5:45] = True
    mask[50, 80] = True
    encoded = rle.encode(mask)
    assert isinstance(encoded["counts"], str) and encoded["size"] == [70, 90]
    assert np.array_equal(rle.decode(encoded), mask)
    assert rle.area(encoded) == 20 * 40 + 1
    assert rle.bbox_xyxy(encoded) == [5, 10, 81, 51]
    assert rle.bbox_xyxy(rle.encode(np.zeros((4, 4), bool))) == [0, 0, 0, 0]


def test_nms_class_agnostic_and_per_class():
    b = [[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60], [0, 0, 9, 10]]
    scores = [0.9, 0.8, 0.7, 0.95]
    assert boxes.nms(b, scores, 0.5) == [3, 2]
    assert boxes.nms(b, scores, 0.5, groups=["a", "b", "a", "a"]) == [3, 1, 2]


def test_caption_spans_and_class_scores():
    onto = ontology.build(CLASSES)
    assert onto.caption == "soda can . drink can . worker . forklift ."
    assert [onto.caption[s:e] for s, e in onto.spans] == [
        "soda can",
        "drink can",
        "worker",
        "forklift",
    ]
    # offsets as a BERT tokenizer gives them: [CLS] soda can . drink can . worker . fork ##lift . [SEP]
    offsets = [
        (0, 0),
        (0, 4),
        (5, 8),
        (9, 10),
        (11, 16),
        (17, 20),
        (21, 22),
        (23, 29),
        (30, 31),
        (32, 36),
        (36, 40),
        (41, 42),
        (0, 0),
    ]
    tokens = ontology.phrase_tokens(onto, offsets)
    assert tokens == [[1, 2], [4, 5], [7], [9, 10]]
    probs = np.zeros((2, len(offsets)))
    probs[0, [2, 5, 10]] = [0.3, 0.6, 0.4]  # best: "can" of "drink can"
    probs[1, [9, 3, 12]] = [0.7, 0.9, 0.99]  # "fork"; the "." and [SEP] scores never count
    scores = ontology.class_scores(probs, onto, tokens)
    assert np.allclose(scores, [[0.6, 0.0, 0.4], [0.0, 0.0, 0.7]])


def test_caption_longer_than_the_detector_is_refused():
    onto = ontology.build({"x": ["a"]})
    with pytest.raises(ValueError, match="above the detector's 256"):
        ontology.phrase_tokens(onto, [(0, 1)] * 300)


SETTINGS = default_thresholds()


def candidate(box, scores, mask_box=None, area=100):
    return {
        "box": box,
        "scores": scores,
        "mask": {"size": [1, 1], "counts": "x"},
        "mask_box": mask_box or box,
        "mask_area": area,
        "mask_score": 0.9,
    }


def test_thresholds_overrides_area_nms_and_box_source():
    classes = ["can", "person"]
    item = {
        "candidates": [
            candidate([0, 0, 10, 10], [0.5, 0.1], mask_box=[1, 1, 9, 9]),
            candidate([0, 0, 10, 10], [0.1, 0.45]),  # duplicate of the first, other class
            candidate([50, 50, 60, 60], [0.3, 0.2]),  # below 0.35
            candidate([80, 80, 83, 83], [0.9, 0.0]),  # 9 px^2 < 16
            candidate([20, 20, 40, 40], [0.0, 0.5], area=0),  # empty mask: detector box
        ]
    }
    objects = label_filter.label_image(item, classes, SETTINGS)
    assert [(o["class"], o["box"]) for o in objects] == [
        ("can", [1, 1, 9, 9]),
        ("person", [20, 20, 40, 40]),
    ]
    per_class_nms = label_filter.label_image(
        item, classes, {**SETTINGS, "class_agnostic_nms": False}
    )
    assert len(per_class_nms) == 3
    strict_person = {**SETTINGS, "per_class": {"person": {"box_threshold": 0.6}}}
    assert [o["class"] for o in label_filter.label_image(item, classes, strict_person)] == ["can"]
    detector_boxes = label_filter.label_image(item, classes, {**SETTINGS, "box_from": "detector"})
    assert detector_boxes[0]["box"] == [0, 0, 10, 10]
    # text_threshold above box_threshold is the effective gate
    assert label_filter.label_image(item, classes, {**SETTINGS, "text_threshold": 0.55}) == []


@pytest.mark.fault("labels: boxes under one pixel wide or high")
def test_boxes_under_one_pixel_are_dropped_whatever_min_box_area():
    item = {
        "candidates": [
            candidate([10, 10, 10.9, 40], [0.9]),  # 0.9 x 30 px: 27 px^2 passes min_box_area
            candidate([50, 10, 51, 26], [0.9]),  # 1 x 16: thin, but a pixel wide
            candidate([70, 10, 90, 10.5], [0.9], area=0),
        ]
    }
    objects = label_filter.label_image(item, ["can"], {**SETTINGS, "min_box_area": 1})
    assert [o["box"] for o in objects] == [[50, 10, 51, 26]]
    thin = {"area": 5, "box": [0, 0, 0.5, 10], "mask": "m"}
    track = {"track": 1, "scores": [[0.9]], "windows": [window(0, 0, 0)], "masks": {"0": thin}}
    item = {"frames": [{}], "max_missed": 1, "tracks": [track]}
    assert label_filter.label_video(item, ["can"], SETTINGS) == [[]]


def window(first, last, detection):
    return {"first": first, "last": last, "detection": detection}


def test_track_scores_max_or_mean():
    track = {
        "track": 3,
        "scores": [[0.75, 0.1], [0.5, 0.1]],
        "windows": [window(0, 1, 0), window(2, 2, 1)],
        "masks": {
            "0": {"area": 50, "box": [0, 0, 10, 10], "mask": "m0"},
            "1": {"area": 0, "box": [0, 0, 0, 0], "mask": "m1"},
            "2": {"area": 50, "box": [5, 0, 15, 10], "mask": "m2"},
        },
    }
    item = {"frames": [{}, {}, {}], "max_missed": 1, "tracks": [track]}
    frames = label_filter.label_video(item, ["can", "person"], SETTINGS)
    assert [[(o["track"], o["box"]) for o in f] for f in frames] == [
        [(3, [0, 0, 10, 10])],
        [],
        [(3, [5, 0, 15, 10])],
    ]
    assert (
        label_filter.label_video(item, ["can", "person"], {**SETTINGS, "track_score": "mean"})[0][
            0
        ]["score"]
        == 0.625
    )
    assert label_filter.label_video(
        item, ["can", "person"], {**SETTINGS, "box_threshold": 0.9}
    ) == [[], [], []]


def square(x, y, size=10, shape=(60, 120)):
    mask = np.zeros(shape, dtype=bool)
    mask[y : y + size, x : x + size] = True
    return mask


class ScriptedScene:
    """A video whose truth is known at every frame, as the procedural videos know theirs.

    `paths[name](frame)` is the object's (x, y), or None where it is out of the frame;
    `seen[name]` the keyframes at which the stand-in detector finds it. The stand-in
    propagator is a perfect tracker: it follows whichever object its seed covers most.
    """

    def __init__(self, paths, seen, frames=12, shifts=None, scores=None):
        self.paths, self.seen, self.frames = paths, seen, frames
        # (name, frame) -> the detector's mask there is the truth moved right by dx pixels
        self.shifts = shifts or {}
        # (name, frame) -> the detector's class scores there (default 0.9 - 0.1 i, 0.1)
        self.scores = scores or {}
        self.calls = []

    def truth(self, name, frame):
        place = self.paths[name](frame)
        return square(*place) if place else np.zeros((60, 120), bool)

    def box(self, name, frame):
        x, y = self.paths[name](frame)
        return (x, y, x + 10, y + 10)

    def detect(self, frame):
        found = [name for name in self.paths if frame in self.seen[name]]
        return [
            (
                self.scores.get((name, frame), [0.9 - 0.1 * i, 0.1]),
                np.roll(self.truth(name, frame), self.shifts.get((name, frame), 0), axis=1),
            )
            for i, name in enumerate(found)
        ]

    def propagate(self, start, seeds, count, reverse):
        self.calls.append((start, sorted(seeds), count, reverse))
        names = {
            t: max(self.paths, key=lambda n: (m & self.truth(n, start)).sum())
            for t, m in seeds.items()
        }
        frames = range(start, start - count - 1, -1) if reverse else range(start, start + count + 1)
        return {f: {t: self.truth(n, f) for t, n in names.items()} for f in frames}

    def track(self, detect_every=3, reverse=False, max_missed=1, match_iou=0.5):
        return tracking.track_video(
            self.frames, self.detect, self.propagate, detect_every, match_iou, reverse, max_missed
        )

    def assert_follows(self, track, name, frames):
        """`track` labels exactly `frames`, each with `name`'s true box."""
        assert sorted(track["masks"]) == list(frames)
        for frame in frames:
            ys, xs = np.nonzero(track["masks"][frame])
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == self.box(name, frame), frame


def moving(x0, y, step, last=None):
    """x0 + step * frame at height y, out of the frame after `last`."""
    return lambda f: (x0 + step * f, y) if last is None or f <= last else None


KEYS = [0, 3, 6, 9]


def test_an_object_that_leaves_the_frame_ends_its_track_there():
    scene = ScriptedScene({"a": moving(2, 20, 12, last=7)}, {"a": [0, 3, 6]})
    for reverse in (False, True):
        tracks = scene.track(reverse=reverse)
        assert sorted(tracks) == [0] and tracks[0]["detected_at"] == [0, 3, 6]
        scene.assert_follows(tracks[0], "a", range(0, 8))


def test_a_false_detection_that_never_recurs_labels_only_its_window():
    # Something SAM 2 can follow (a shadow) that the detector fires on once, at frame 6.
    paths = {"a": moving(2, 5, 1), "shadow": moving(60, 40, 2)}
    scene = ScriptedScene(paths, {"a": KEYS, "shadow": [6]})
    tracks = scene.track(reverse=False)
    assert sorted(tracks) == [0, 1] and tracks[1]["detected_at"] == [6]
    scene.assert_follows(tracks[0], "a", range(12))
    scene.assert_follows(tracks[1], "shadow", [6, 7, 8])  # carried at 9, never confirmed
    assert tracks[1]["scores"] == [[0.8, 0.1]]
    # reverse: back to the keyframe before, where the detector looked and found nothing
    scene.assert_follows(scene.track(reverse=True)[1], "shadow", [4, 5, 6, 7, 8])
    # without carrying, the same window
    scene.assert_follows(scene.track(max_missed=0)[1], "shadow", [6, 7, 8])


def test_an_object_missed_at_one_keyframe_keeps_its_id():
    paths = {"a": moving(2, 5, 1), "b": moving(100, 40, -3)}
    scene = ScriptedScene(paths, {"a": KEYS, "b": [0, 3, 9]})
    tracks = scene.track()
    assert sorted(tracks) == [0, 1] and tracks[1]["detected_at"] == [0, 3, 9]
    scene.assert_follows(tracks[1], "b", range(12))  # frames 6-8 carried, then confirmed
    assert (6, [0, 1], 3, False) in scene.calls  # b carried from its own tracked mask
    # Every keyframe must confirm: b ends at its last confirmed window, returns as a new id.
    strict = scene.track(max_missed=0)
    assert sorted(strict) == [0, 1, 2]
    scene.assert_follows(strict[1], "b", range(6))
    scene.assert_follows(strict[2], "b", range(9, 12))
    # Missed twice in a row with max_missed 1: the carried frames are dropped too.
    twice = ScriptedScene(scene.paths, {"a": KEYS, "b": [0]}).track()
    scene.assert_follows(twice[1], "b", range(3))


def test_two_objects_that_cross_keep_their_ids():
    # Same row band, opposite directions: they overlap around frame 7, between keyframes.
    paths = {"left": moving(10, 20, 6), "right": moving(94, 24, -6)}
    scene = ScriptedScene(paths, {"left": KEYS, "right": KEYS})
    tracks = scene.track(reverse=True)
    assert sorted(tracks) == [0, 1]
    assert tracks[0]["detected_at"] == tracks[1]["detected_at"] == KEYS
    scene.assert_follows(tracks[0], "left", range(12))
    scene.assert_follows(tracks[1], "right", range(12))


def test_reverse_pass_labels_frames_since_the_keyframe_before():
    # b enters at frame 4, is first detected at 6: reverse labels 4 and 5, not 3.
    paths = {"a": moving(2, 5, 1), "b": lambda f: (110 - 3 * f, 40) if f >= 4 else None}
    scene = ScriptedScene(paths, {"a": KEYS, "b": [6, 9]})
    forwards = scene.track(reverse=False)
    scene.assert_follows(forwards[1], "b", range(6, 12))
    tracks = scene.track(reverse=True)
    scene.assert_follows(tracks[1], "b", range(4, 12))
    scene.assert_follows(tracks[0], "a", range(12))
    assert (6, [1], 2, True) in scene.calls


def test_unmatched_detections_get_new_ids_and_ids_never_repeat():
    ids, next_id = tracking.assign_ids(
        3, [4, 7], np.array([[0.9, 0.1], [0.2, 0.3], [0.1, 0.8]]), 0.5, 8
    )
    assert ids == [4, 8, 7] and next_id == 9


def test_runs_found_on_the_device_give_the_plain_rle():
    import torch

    from synthdet.label.mask_runs import column_major_runs

    rng = np.random.default_rng(0)
    full = np.ones((60, 120), bool)
    masks = [square(5, 7, 20), rng.random((60, 120)) > 0.7, np.zeros((60, 120), bool), full]
    runs = column_major_runs(torch.from_numpy(np.stack(masks)))
    for mask, (encoded, area, box) in zip(masks, rle.from_runs(runs, 60, 120)):
        assert encoded == rle.encode(mask)
        assert area == mask.sum() and box == rle.bbox_xyxy(encoded)
        assert np.array_equal(rle.decode(encoded), mask)
    assert rle.from_runs([], 60, 120) == []


def test_duplicate_detections_of_one_object_become_one_track():
    scene = ScriptedScene({"a": moving(2, 5, 1), "b": moving(100, 40, -3)}, {"a": KEYS, "b": KEYS})

    def detect_twice(frame):  # every object found twice, by two phrases
        found = scene.detect(frame)
        return found + [([s[1], s[0]], m) for s, m in found]

    tracks = tracking.track_video(12, detect_twice, scene.propagate, 3, 0.5, False)
    assert sorted(tracks) == [0, 1]
    assert tracks[0]["scores"][0] == [0.9, 0.9]  # class scores merged, per-class max


# ------------------------------------------------ one object, one id; windows vouched for

TWO_CLASSES = ["can", "person"]


def candidates_of(tracks, max_missed=1, frames=12):
    """track_video's result as a video's candidates, as video_labeling writes them."""

    def state(mask):
        ys, xs = np.nonzero(mask)
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
        return {"area": int(mask.sum()), "box": box, "mask": rle.encode(mask)}

    return {
        "frames": [{} for _ in range(frames)],
        "max_missed": max_missed,
        "tracks": [
            {
                "track": t,
                "scores": track["scores"],
                "windows": track["windows"],
                "masks": {str(f): state(m) for f, m in track["masks"].items()},
            }
            for t, track in sorted(tracks.items())
        ],
    }


def tracks_per_frame(tracks, frames=12):
    return [sorted(t for t, track in tracks.items() if f in track["masks"]) for f in range(frames)]


def labeled_tracks(tracks, settings=SETTINGS, max_missed=1):
    labeled = label_filter.label_video(candidates_of(tracks, max_missed), TWO_CLASSES, settings)
    return [[o["track"] for o in objects] for objects in labeled]


def test_a_wobbling_detection_switches_identity_once_and_never_labels_twice():
    # At frame 6 the detector's mask is 6 px off (IoU 0.25 with the tracked mask, under
    # match_iou 0.5), and there it calls the object a person.
    scene = ScriptedScene(
        {"a": moving(2, 20, 1)},
        {"a": KEYS},
        shifts={("a", 6): 6},
        scores={("a", 6): [0.1, 0.9]},
    )
    assert tracking.mask_iou([scene.detect(6)[0][1]], [scene.truth("a", 6)])[0, 0] == 0.25
    for reverse in (False, True):
        tracks = scene.track(reverse=reverse)
        # A to B once, never back, and one id on every frame (reverse included).
        assert tracks_per_frame(tracks) == [[0]] * 6 + [[1]] * 6, reverse
        scene.assert_follows(tracks[0], "a", range(6))
        scene.assert_follows(tracks[1], "a", range(6, 12))
        for agnostic in (True, False):
            settings = {**SETTINGS, "class_agnostic_nms": agnostic}
            assert labeled_tracks(tracks, settings) == [[0]] * 6 + [[1]] * 6


def test_a_false_detection_vouched_for_only_below_the_threshold_labels_only_its_window():
    # A shadow the detector calls a can once at 0.8 (frame 6); at frame 9 only a 0.06
    # candidate, above the floor and under box_threshold, lands on it.
    paths = {"a": moving(2, 5, 1), "shadow": moving(60, 40, 2)}
    scores = {("shadow", 6): [0.8, 0.1], ("shadow", 9): [0.06, 0.01]}
    scene = ScriptedScene(paths, {"a": KEYS, "shadow": [6, 9]}, scores=scores)
    tracks = scene.track()
    scene.assert_follows(tracks[1], "shadow", range(6, 12))  # the floor confirms it at 9
    assert tracks[1]["windows"] == [
        {"first": 6, "last": 8, "detection": 0},
        {"first": 9, "last": 11, "detection": 1},
    ]
    for mean in ("max", "mean"):
        labeled = label_filter.label_video(
            candidates_of(tracks), TWO_CLASSES, {**SETTINGS, "track_score": mean}
        )
        shadow = [
            (f, o["score"]) for f, objects in enumerate(labeled) for o in objects if o["track"] == 1
        ]
        assert shadow == [(6, 0.8), (7, 0.8), (8, 0.8)], mean
    # At a threshold the weaker detection passes, it vouches for its window too.
    low = {**SETTINGS, "box_threshold": 0.05, "text_threshold": 0.05}
    assert [1 in ids for ids in labeled_tracks(tracks, low)] == [False] * 6 + [True] * 6


def test_a_track_bridges_at_most_max_missed_windows_nothing_vouches_for():
    weak = [0.06, 0.01]
    for missed_at, max_missed, labeled_frames in [
        ([3], 1, range(12)),  # one weak window between two strong ones: bridged
        ([3, 6], 1, [0, 1, 2, 9, 10, 11]),  # two in a row: dropped, the id stays
        ([3, 6], 2, range(12)),
    ]:
        scores = {("a", key): weak for key in missed_at}
        scene = ScriptedScene({"a": moving(2, 5, 1)}, {"a": KEYS}, scores=scores)
        tracks = scene.track(max_missed=max_missed)
        scene.assert_follows(tracks[0], "a", range(12))
        ids = labeled_tracks(tracks, max_missed=max_missed)
        assert [f for f, frame in enumerate(ids) if frame] == list(labeled_frames)
        assert all(frame in ([], [0]) for frame in ids)


def test_objects_close_together_stay_apart_whatever_the_match_threshold():
    # Masks sharing two columns (IoU 0.11): two objects, even with matching this loose.
    scene = ScriptedScene({"a": moving(20, 20, 1), "b": moving(28, 20, 1)}, {"a": KEYS, "b": KEYS})
    assert tracking.mask_iou([scene.truth("a", 0)], [scene.truth("b", 0)])[0, 0] > 0.1
    for match_iou in (0.1, 0.5, 1.0):
        tracks = scene.track(match_iou=match_iou, reverse=True)
        assert sorted(tracks) == [0, 1], match_iou
        scene.assert_follows(tracks[0], "a", range(12))
        scene.assert_follows(tracks[1], "b", range(12))


def test_two_tracks_that_drift_onto_one_object_label_it_once():
    # b runs into a between keyframes 6 and 9 (the same pixels from frame 7 on), as SAM 2
    # drifts from a reflection onto the object: the younger track gives way there.
    paths = {"a": moving(2, 20, 1), "b": lambda f: (2 + f + 8 * max(0, 7 - f), 20)}
    scene = ScriptedScene(paths, {"a": KEYS, "b": [0, 3, 6]})
    tracks = scene.track()
    scene.assert_follows(tracks[0], "a", range(12))
    scene.assert_follows(tracks[1], "b", range(7))
    assert tracks_per_frame(tracks) == [[0, 1]] * 7 + [[0]] * 5


def test_a_big_weak_detection_over_a_missed_object_does_not_end_its_track():
    # At frame 6 b is missed and a weak box over most of the frame (as Grounding DINO gives
    # at the floor) covers it: IoU 0.02, far under switch_iou, so b is still carried.
    paths = {"a": moving(2, 5, 1), "b": moving(100, 40, -3)}
    scene = ScriptedScene(paths, {"a": KEYS, "b": [0, 3, 9]})
    junk = np.zeros((60, 120), bool)
    junk[5:55, 10:110] = True

    def detect(frame):
        return scene.detect(frame) + ([([0.06, 0.01], junk)] if frame == 6 else [])

    def propagate(start, seeds, count, reverse):  # SAM 2 keeps the big mask as it is
        objects = {t: m for t, m in seeds.items() if m is not junk}
        tracked = scene.propagate(start, objects, count, reverse)
        return {
            f: {**masks, **{t: junk for t in seeds if t not in objects}}
            for f, masks in tracked.items()
        }

    tracks = tracking.track_video(12, detect, propagate, 3, 0.5, False)
    scene.assert_follows(tracks[0], "a", range(12))
    scene.assert_follows(tracks[1], "b", range(12))
