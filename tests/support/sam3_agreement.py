"""Run by tests/test_sam3.py under .venv-sam3/'s python (transformers 5): the project's SAM 3
candidates of two pictures against transformers' own documented SAM 3 inference, on the
tiny random-weight smoke model. Prints one JSON report of the differences.

    python sam3_agreement.py <work folder>

The reference is the library's path, driven directly: Sam3Processor(images=..., text=...)
per phrase, Sam3Model(**inputs), post_process_instance_segmentation. The project's code
runs through its own loader and image_labeling.boxes_and_masks.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from synthdet.core import rle  # noqa: E402
from synthdet.label.image_labeling import boxes_and_masks  # noqa: E402
from synthdet.label.job_io import Stopwatch  # noqa: E402
from synthdet.label.job_settings import CandidateSettings  # noqa: E402
from synthdet.label.label_models import load_models  # noqa: E402
from synthdet.label.sam3_smoke import build_sam3  # noqa: E402
from synthdet.label.smoke_models import build_sam2  # noqa: E402
from synthdet.setup import ontology  # noqa: E402

CLASSES = {"can": ["soda can", "drink can"], "person": ["worker"], "forklift": ["forklift"]}
FLOOR, LIMIT = 0.05, 12


def scene(width, height, seed):
    """Gradient, rectangles, circles and noise: enough structure to move every query."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    image = np.stack([xs * 200 / width, ys * 180 / height, (xs + ys) % 97 + 60], axis=-1)
    for _ in range(5):
        x, y = rng.integers(0, width - 40), rng.integers(0, height - 40)
        w, h = rng.integers(12, 40, size=2)
        image[y : y + h, x : x + w] = rng.integers(0, 255, size=3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def reference(model, processor, image):
    """Every phrase's instances by the library's own path, merged best first as the
    project merges them: (class, score, box, mask) tuples."""
    height, width = image.shape[:2]
    onto = ontology.build(CLASSES)
    found = []
    for phrase, owner in zip(onto.phrases, onto.phrase_class):
        inputs = processor(images=image, text=phrase, return_tensors="pt")
        with torch.no_grad():
            outputs = model(**inputs)
        result = processor.post_process_instance_segmentation(
            outputs, threshold=0.0, mask_threshold=0.5, target_sizes=[(height, width)]
        )[0]
        for score, box, mask in zip(result["scores"], result["boxes"], result["masks"]):
            found.append((owner, float(score), box.numpy(), mask.numpy().astype(bool)))
    found.sort(key=lambda f: -f[1])  # stable, as the project's argsort
    return [f for f in found[:LIMIT] if f[1] >= FLOOR]


def project_candidates(models, image, settings):
    """The project's candidates before rounding for storage (4 digits for scores, 2 for
    boxes): what image_labeling.image_candidates stores, at full precision."""
    boxes, rows, runs, _ = boxes_and_masks(models, image, settings, Stopwatch())
    height, width = image.shape[:2]
    masks = [rle.decode(mask) for mask, _, _ in rle.from_runs(runs, height, width)]
    return [{"box": b, "scores": r, "mask": m} for b, r, m in zip(boxes, rows, masks)]


def compare(ours, theirs, masks=True):
    """Largest differences between the project's candidates and the reference."""
    report = {"count": [len(ours), len(theirs)], "score": 0.0, "box": 0.0, "mask_pixels": 0.0}
    report["classes_agree"] = len(ours) == len(theirs)
    report["only_own_class"] = True
    for candidate, (owner, score, box, mask) in zip(ours, theirs):
        scores = np.array(candidate["scores"])
        report["classes_agree"] &= int(np.argmax(scores)) == owner
        report["only_own_class"] &= bool(np.count_nonzero(scores) <= 1)
        report["score"] = max(report["score"], float(abs(scores[owner] - score)))
        report["box"] = max(report["box"], float(np.abs(np.array(candidate["box"]) - box).max()))
        if not masks:
            continue
        wrong = np.count_nonzero(candidate["mask"].astype(bool) != mask)
        report["mask_pixels"] = max(report["mask_pixels"], wrong / mask.size)
    return report


def main(work):
    work = Path(work)
    sam3 = build_sam3(work / "sam3")
    sam2 = build_sam2({"config": str(work / "sam2.yaml"), "checkpoint": str(work / "sam2.pt")})
    detector = {"backend": "sam3", "model_dir": sam3["model_dir"], "image_size": 800}
    models = load_models({"device": "cpu", "detector": detector, "sam2": sam2}, CLASSES)
    settings = CandidateSettings(candidate_floor=FLOOR, max_candidates=LIMIT)
    from transformers import Sam3Model, Sam3Processor

    model = Sam3Model.from_pretrained(sam3["model_dir"]).eval()
    processor = Sam3Processor.from_pretrained(sam3["model_dir"])
    reports = []
    for index, (width, height) in enumerate([(333, 250), (1280, 704)]):
        image = scene(width, height, index)
        ours = project_candidates(models, image, settings)
        reports.append(compare(ours, reference(model, processor, image)))
    # The tolerance sees a change of one pixel: the same picture one column narrower.
    image = scene(333, 250, 0)
    ours = project_candidates(models, image, settings)
    shifted = reference(model, processor, image[:, 1:])
    reports.append({"one_pixel": compare(ours, shifted, masks=False)["score"]})
    reports.append({"long_phrase": long_phrase_refusal(detector, sam2)})
    print(json.dumps(reports))


def long_phrase_refusal(detector, sam2):
    """The message loading SAM 3 gives for a phrase over its 32 text tokens."""
    from synthdet.core.errors import ConfigError

    classes = {**CLASSES, "crate": ["crate " * 40]}
    try:
        load_models({"device": "cpu", "detector": detector, "sam2": sam2}, classes)
    except ConfigError as error:
        return str(error)
    return None


if __name__ == "__main__":
    main(sys.argv[1])
