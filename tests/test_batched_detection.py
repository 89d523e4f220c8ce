"""Batched labeling (labeling.batch_size): the detector and SAM 2's image encoder take
several images of one size at once, and every image gets the candidates it gets alone.

The images differ enough that the smoke models' outputs for two of them are far apart
(asserted), so a batch whose items were swapped, or padded, fails the comparison.
"""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from synthdet.core import manifest, rle
from synthdet.core.atomic import write_json
from synthdet.core.errors import ConfigError
from synthdet.core.retries import images_per_batch
from synthdet.label import image_labeling, smoke_models
from synthdet.label.detectors import load_detector, require_one_size
from synthdet.label.image_labeling import label_images, same_size_batches, segment, segment_batch
from synthdet.label.job_io import Stopwatch, made_with_seed
from synthdet.label.job_settings import label_settings
from synthdet.label.label_models import load_models
from synthdet.setup import ontology

CLASSES = {"can": ["soda can", "drink can"], "person": ["worker"], "forklift": ["forklift"]}
CAPTION = ontology.build(CLASSES).caption
TOLERANCE = 1e-5  # the agreement tests' (test_label_agreement.py): float32 rounding
CPU = torch.device("cpu")


def pictures(count, height=64, width=96, seed=0):
    """Distinct random pictures of one size."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


@pytest.fixture(scope="module")
def detector_settings(built_smoke_models, tmp_path_factory):
    """Detector settings of every transformers model type and the original backend."""
    folder = tmp_path_factory.mktemp("more_models")
    text_encoder = built_smoke_models["groundingdino"]["text_encoder"]
    return {
        "groundingdino": {"backend": "groundingdino", **built_smoke_models["groundingdino"]},
        "grounding-dino": {"backend": "transformers", **built_smoke_models["transformers"]},
        "mm-grounding-dino": {
            "backend": "transformers",
            **smoke_models.build_mm_grounding_dino(folder / "mm", text_encoder),
        },
        "owlv2": {"backend": "transformers", **smoke_models.build_owlv2(folder / "owlv2")},
    }


@pytest.mark.parametrize("model", ["groundingdino", "grounding-dino", "mm-grounding-dino", "owlv2"])
def test_a_batch_gives_each_image_what_it_gets_alone(detector_settings, model):
    detector = load_detector({**detector_settings[model], "image_size": 128}, CPU)
    images = pictures(3)
    alone = [detector.detect(image, CAPTION) for image in images]
    batched = detector.detect_batch(images, CAPTION)
    assert len(batched) == 3
    for one, many in zip(alone, batched):
        np.testing.assert_allclose(many.boxes_cxcywh, one.boxes_cxcywh, atol=TOLERANCE, rtol=0)
        np.testing.assert_allclose(many.token_probs, one.token_probs, atol=TOLERANCE, rtol=0)
    # a mix-up of batch items would show: different images score far apart
    for first, second in [(0, 1), (1, 2)]:
        apart = np.abs(alone[first].token_probs - alone[second].token_probs).max()
        assert apart > 100 * TOLERANCE


def test_a_batch_of_mixed_sizes_is_refused_not_padded():
    """Padding changes every query of the padded image (measured: 0.94 on the smoke
    transformers model), so a batch holds one size; image_labeling groups by size."""
    with pytest.raises(ValueError, match="one size"):
        require_one_size(pictures(1, 64, 96) + pictures(1, 64, 97))


def decoded(shapes, broken=()):
    """(item, image, problem) as prefetched() yields them, one per shape."""
    for index, shape in enumerate(shapes):
        item = {"id": f"i{index}"}
        if index in broken:
            yield item, None, "unreadable image: test"
        else:
            yield item, np.zeros((*shape, 3), np.uint8), None


def test_batches_hold_consecutive_images_of_one_size_at_most_batch_size():
    small, big = (4, 6), (6, 4)
    shapes = [small, small, small, big, small, small, small, small]
    problems = []
    batches = same_size_batches(
        decoded(shapes, broken={1}), 2, lambda item, why: problems.append(item["id"])
    )
    ids = [[item["id"] for item, _ in batch] for batch in batches]
    # i1 is unreadable: recorded, and the batch around it goes on
    assert ids == [["i0", "i2"], ["i3"], ["i4", "i5"], ["i6", "i7"]]
    assert problems == ["i1"]


def test_a_retry_after_running_out_of_memory_halves_the_batch():
    assert [images_per_batch(attempt, 16) for attempt in (1, 2, 3)] == [16, 8, 4]
    assert [images_per_batch(attempt, 3) for attempt in (1, 2, 3)] == [3, 1, 1]


@pytest.mark.parametrize("size", [0, -1, 2.5, None])
def test_the_batch_size_must_be_a_whole_number_of_at_least_one(size):
    params = {"candidate_floor": 0.1, "max_candidates": 5}
    with pytest.raises(ConfigError, match="images_per_batch"):
        label_settings("images", params, 0, size)
    assert label_settings("images", params, 0, 4).candidates.images_per_batch == 4


def test_sam2_encodes_a_batch_as_it_encodes_each_image(smoke):
    settings = {"device": "cpu", "detector": {"backend": "groundingdino", "image_size": 128}}
    settings["detector"].update(smoke["groundingdino"])
    models = load_models({**settings, "sam2": smoke["sam2"]}, CLASSES)
    images = pictures(3, 48, 80, seed=1)
    rng = np.random.default_rng(2)
    boxes = [np.sort(rng.uniform(0, 48, (count, 4)), axis=1) for count in (2, 0, 3)]
    alone = [segment(models, image, b, Stopwatch()) for image, b in zip(images, boxes)]
    batched = segment_batch(models, images, boxes, Stopwatch())
    masks = []
    for (runs, scores), (batch_runs, batch_scores) in zip(alone, batched):
        ours = [rle.decode(m) for m, _, _ in rle.from_runs(batch_runs, 48, 80)]
        theirs = [rle.decode(m) for m, _, _ in rle.from_runs(runs, 48, 80)]
        assert len(ours) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(ours, theirs))
        np.testing.assert_allclose(batch_scores, scores, atol=TOLERANCE, rtol=0)
        masks += theirs
    # the masks of one image's boxes differ from the next's: a mix-up would show
    assert not np.array_equal(masks[0], masks[2])


def write_images(folder, shapes, broken=()):
    """A made-images manifest of pictures of the given (height, width) shapes."""
    entries = []
    for index, (height, width) in enumerate(shapes):
        path = folder / f"p{index}.png"
        if index in broken:
            path.write_bytes(b"\x89PNG not an image")
        else:
            Image.fromarray(pictures(1, height, width, seed=10 + index)[0]).save(path)
        entries.append({"id": f"p{index}", "status": "made", "path": str(path)})
    path = folder / "images.manifest.json"
    write_json(path, manifest.build("text2image", "d", 0, "procedural", entries))
    return made_with_seed([path])


def run_labeling(models, items, out_path, batch_size):
    params = {"candidate_floor": 0.0, "max_candidates": 6}
    settings = label_settings("images", params, 0, batch_size)
    return label_images(items, out_path, settings, models, io.StringIO())


def test_a_batched_job_writes_the_candidates_of_a_one_by_one_job(smoke, tmp_path, monkeypatch):
    """One backend: the job code is the same for both (detect_batch is tested for each)."""
    detector = {"backend": "transformers", "image_size": 128, **smoke["transformers"]}
    models = load_models({"device": "cpu", "detector": detector, "sam2": smoke["sam2"]}, CLASSES)
    shapes = [(48, 80), (48, 80), (48, 80), (48, 80), (64, 64)]
    items = write_images(tmp_path, shapes, broken={1})
    calls = []
    original = image_labeling.detections_of
    monkeypatch.setattr(
        image_labeling,
        "detections_of",
        lambda detector, images, caption: calls.append(len(images))
        or original(detector, images, caption),
    )
    alone = run_labeling(models, items, tmp_path / "alone.json", 1)
    assert calls == [1] * 4
    calls.clear()
    batched = run_labeling(models, items, tmp_path / "batched.json", 2)
    assert calls == [2, 1, 1]  # the unreadable p1 skipped; p3 cut off by the square p4
    assert batched["skipped"] == alone["skipped"] and len(alone["skipped"]) == 1
    assert [i["id"] for i in batched["items"]] == [i["id"] for i in alone["items"]]
    for one, many in zip(alone["items"], batched["items"]):
        assert len(many["candidates"]) == len(one["candidates"]) == 6
        for a, b in zip(one["candidates"], many["candidates"]):
            # stored rounded (2 decimals for pixels, 4 for scores): one unit of rounding
            np.testing.assert_allclose(b["box"], a["box"], atol=0.011, rtol=0)
            np.testing.assert_allclose(b["scores"], a["scores"], atol=1.1e-4, rtol=0)
            assert b["mask"] == a["mask"]
    first, second = ([c["box"] for c in alone["items"][k]["candidates"]] for k in (0, 1))
    assert np.abs(np.subtract(first, second)).max() > 1  # pixels: a mix-up would show
