"""Box conversions, RLE, NMS, the ontology, thresholds and tracking: pure logic."""

import numpy as np
import pytest

from synthdet import boxes, label_filter, ontology, rle, tracking

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
    assert [onto.caption[s:e] for s, e in onto.spans] == ["soda can", "drink can", "worker", "forklift"]
    # offsets as a BERT tokenizer gives them: [CLS] soda can . drink can . worker . fork ##lift . [SEP]
    offsets = [(0, 0), (0, 4), (5, 8), (9, 10), (11, 16), (17, 20), (21, 22), (23, 29), (30, 31),
               (32, 36), (36, 40), (41, 42), (0, 0)]  # fmt: skip
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


SETTINGS = {"box_threshold": 0.35, "text_threshold": 0.25, "per_class": {}, "nms_iou": 0.5,
            "class_agnostic_nms": True, "min_box_area": 16, "box_from": "mask",
            "track_score": "max"}  # fmt: skip


def candidate(box, scores, mask_box=None, area=100):
    return {"box": box, "scores": scores, "mask": {"size": [1, 1], "counts": "x"},
            "mask_box": mask_box or box, "mask_area": area, "mask_score": 0.9}  # fmt: skip


def test_thresholds_overrides_area_nms_and_box_source():
    classes = ["can", "person"]
    item = {"candidates": [
        candidate([0, 0, 10, 10], [0.5, 0.1], mask_box=[1, 1, 9, 9]),
        candidate([0, 0, 10, 10], [0.1, 0.45]),      # duplicate of the first, other class
        candidate([50, 50, 60, 60], [0.3, 0.2]),     # below 0.35
        candidate([80, 80, 83, 83], [0.9, 0.0]),     # 9 px^2 < 16
        candidate([20, 20, 40, 40], [0.0, 0.5], area=0),  # empty mask: detector box
    ]}  # fmt: skip
    objects = label_filter.label_image(item, classes, SETTINGS)
    assert [(o["class"], o["box"]) for o in objects] == [("can", [1, 1, 9, 9]), ("person", [20, 20, 40, 40])]
    per_class_nms = label_filter.label_image(item, classes, {**SETTINGS, "class_agnostic_nms": False})
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
    track = {"track": 1, "scores": [[0.9]], "masks": {"0": thin}}
    assert label_filter.label_video({"frames": [{}], "tracks": [track]}, ["can"], SETTINGS) == [[]]


def test_track_scores_max_or_mean():
    track = {"track": 3, "scores": [[0.8, 0.1], [0.2, 0.1]], "masks": {
        "0": {"area": 50, "box": [0, 0, 10, 10], "mask": "m0"},
        "1": {"area": 0, "box": [0, 0, 0, 0], "mask": "m1"},
        "2": {"area": 50, "box": [5, 0, 15, 10], "mask": "m2"}}}  # fmt: skip
    item = {"frames": [{}, {}, {}], "tracks": [track]}
    frames = label_filter.label_video(item, ["can", "person"], SETTINGS)
    assert [[(o["track"], o["box"]) for o in f] for f in frames] == [[(3, [0, 0, 10, 10])], [], [(3, [5, 0, 15, 10])]]
    assert label_filter.label_video(item, ["can", "person"], {**SETTINGS, "track_score": "mean"})[0][0]["score"] == 0.5
    assert label_filter.label_video(item, ["can", "person"], {**SETTINGS, "box_threshold": 0.9}) == [[], [], []]


def square(x, y, size=10, shape=(60, 120)):
    mask = np.zeros(shape, dtype=bool)
    mask[y : y + size, x : x + size] = True
    return mask


class KnownScene:
    """Objects whose true masks are known at every frame; the detector sees some."""

    def __init__(self):
        # object -> (first visible frame, x at frame f)
        self.objects = {"a": (0, lambda f: 2 + 3 * f), "b": (4, lambda f: 100 - 3 * f)}
        self.calls = []

    def truth(self, name, frame):
        start, x = self.objects[name]
        return square(x(frame), 20 if name == "a" else 40)

    def detect(self, frame):
        found = [name for name, (start, _) in self.objects.items() if frame >= start]
        return [([0.9, 0.1] if n == "a" else [0.1, 0.8], self.truth(n, frame)) for n in found]

    def propagate(self, start, seeds, count, reverse):
        """A perfect tracker: follows whichever object the seed mask covers."""
        self.calls.append((start, count, reverse))
        names = {tid: max(self.objects, key=lambda n: (m & self.truth(n, start)).sum()) for tid, m in seeds.items()}
        frames = range(start, start - count - 1, -1) if reverse else range(start, start + count + 1)
        return {f: {tid: self.truth(n, f) for tid, n in names.items()} for f in frames}


def test_tracking_keeps_ids_and_takes_each_frame_from_its_own_mask():
    scene = KnownScene()
    tracks = tracking.track_video(10, scene.detect, scene.propagate, 3, 0.5, reverse=False)
    assert sorted(tracks) == [0, 1]  # a keeps id 0 through keyframes 0, 3, 6, 9; b gets 1
    assert tracks[0]["detected_at"] == [0, 3, 6, 9] and tracks[1]["detected_at"] == [6, 9]
    for frame in range(10):
        assert np.array_equal(tracks[0]["masks"][frame], scene.truth("a", frame))
    assert min(tracks[1]["masks"]) == 6  # without the reverse pass, b starts at its detection


def test_reverse_pass_labels_frames_before_the_first_detection():
    scene = KnownScene()
    tracks = tracking.track_video(10, scene.detect, scene.propagate, 3, 0.5, reverse=True)
    assert sorted(tracks[1]["masks"]) == list(range(10))
    assert np.array_equal(tracks[1]["masks"][2], scene.truth("b", 2))
    assert (6, 6, True) in scene.calls


def test_unmatched_detections_get_new_ids_and_ids_never_repeat():
    ids, next_id = tracking.assign_ids(3, [4, 7], np.array([[0.9, 0.1], [0.2, 0.3], [0.1, 0.8]]), 0.5, 8)
    assert ids == [4, 8, 7] and next_id == 9


def test_runs_found_on_the_device_give_the_plain_rle():
    import torch

    from synthdet.labeling import column_major_runs

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
    scene = KnownScene()

    def detect_twice(frame):  # every object found twice, by two phrases
        found = scene.detect(frame)
        return found + [([s[1], s[0]], m) for s, m in found]

    tracks = tracking.track_video(10, detect_twice, scene.propagate, 3, 0.5, reverse=False)
    assert sorted(tracks) == [0, 1]
    assert tracks[0]["scores"][0] == [0.9, 0.9]  # class scores merged, per-class max
