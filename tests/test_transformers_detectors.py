"""The transformers backend on each model type it takes, against that model's own
processor and post-processing, on tiny random models built from the real architectures
(smoke_models.build_mm_grounding_dino, build_owlv2): MM-Grounding-DINO (LLMDet
checkpoints are of its type) with Grounding DINO's post_process_grounded_object_detection,
and OWLv2 with Owlv2Processor's, one text query per phrase. The class score rule holds
for both: a phrase's score, and a class's the max over its phrases.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthdet.core import boxes as box_ops
from synthdet.core.errors import ConfigError
from synthdet.label import smoke_models
from synthdet.label.detectors import TransformersGroundingDino, TransformersOwlv2
from synthdet.label.image_labeling import detect
from synthdet.label.job_io import Stopwatch
from synthdet.label.job_settings import CandidateSettings
from synthdet.label.label_models import load_models
from synthdet.setup import ontology

from test_label_agreement import SCORE_TOLERANCE, scene

CLASSES = {"can": ["soda can", "drink can"], "person": ["worker"], "forklift": ["forklift"]}
ONTOLOGY = ontology.build(CLASSES)
BOX_TOLERANCE = 1e-4  # pixels per pixel of the image side


@pytest.fixture(scope="module")
def folders(built_smoke_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("transformers_models")
    text_encoder = built_smoke_models["groundingdino"]["text_encoder"]
    mm = smoke_models.build_mm_grounding_dino(root / "mm", text_encoder)
    return {"mm": mm["model_dir"], "owlv2": smoke_models.build_owlv2(root / "owlv2")["model_dir"]}


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    """Not square, so OWLv2's padding to a square shows in the boxes."""
    path = tmp_path_factory.mktemp("picture") / "scene.png"
    Image.fromarray(scene(333, 250, 3)).save(path)
    return path


def project_models(folder, built_smoke_models, classes=CLASSES):
    detector = {"backend": "transformers", "image_size": 256, "model_dir": folder}
    settings = {"device": "cpu", "detector": detector, "sam2": built_smoke_models["sam2"]}
    return load_models(settings, classes)


def all_candidates(models, image):
    """Every query box of the project's detection path with its class scores."""
    settings = CandidateSettings(candidate_floor=0.0, max_candidates=10_000)
    return detect(models, image, settings, Stopwatch())


def reference(folder, picture, text, post_process_size, **post):
    """The model's own processor, model call and post-processing at threshold 0."""
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForZeroShotObjectDetection.from_pretrained(folder).eval()
    inputs = processor(images=picture, text=text, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs)
    (result,) = processor.post_process_grounded_object_detection(
        outputs, threshold=0.0, target_sizes=[post_process_size], **post
    )
    return result, outputs, inputs


def assert_same_boxes(ours, theirs, width, height):
    clamped = np.clip(theirs, 0, [width, height, width, height])
    np.testing.assert_allclose(ours, clamped, atol=BOX_TOLERANCE * max(width, height), rtol=0)


def test_mm_grounding_dino_gives_what_its_processor_and_post_processing_give(
    folders, picture, built_smoke_models
):
    models = project_models(folders["mm"], built_smoke_models)
    assert isinstance(models.detector, TransformersGroundingDino)
    config = json.loads((Path(folders["mm"]) / "config.json").read_text())
    assert config["model_type"] == "mm-grounding-dino"
    image = np.asarray(Image.open(picture).convert("RGB"))
    height, width = image.shape[:2]
    result, outputs, inputs = reference(
        folders["mm"],
        Image.open(picture).convert("RGB"),
        ONTOLOGY.caption,
        (height, width),
        input_ids=None,
        text_threshold=0.0,
    )
    found = models.detector.detect(image, ONTOLOGY.caption)
    ours = box_ops.cxcywh_to_xyxy(found.boxes_cxcywh, width, height)
    assert_same_boxes(ours, result["boxes"].numpy(), width, height)
    np.testing.assert_allclose(
        found.token_probs.max(axis=1), result["scores"].numpy(), atol=SCORE_TOLERANCE, rtol=0
    )
    # the class score rule, from the reference's per-token sigmoid and its own offsets
    probs = outputs.logits[0].sigmoid().numpy()
    offsets = models.detector.processor.tokenizer(ONTOLOGY.caption, return_offsets_mapping=True)[
        "offset_mapping"
    ]
    boxes, scores = all_candidates(models, image)
    expected = expected_class_scores(probs, offsets)
    order = np.argsort(-expected.max(axis=1), kind="stable")
    np.testing.assert_allclose(scores, expected[order], atol=SCORE_TOLERANCE, rtol=0)


def expected_class_scores(token_probs, offsets):
    """Class scores written out: a phrase scores the max over the tokens inside its span,
    a class the max over its phrases."""
    expected = np.zeros((len(token_probs), len(ONTOLOGY.classes)), np.float32)
    for (start, end), owner in zip(ONTOLOGY.spans, ONTOLOGY.phrase_class):
        inside = [i for i, (s, e) in enumerate(offsets) if e > s and s >= start and e <= end]
        expected[:, owner] = np.maximum(expected[:, owner], token_probs[:, inside].max(axis=1))
    return expected


def test_owlv2_gives_what_its_processor_and_post_processing_give(
    folders, picture, built_smoke_models
):
    models = project_models(folders["owlv2"], built_smoke_models)
    assert isinstance(models.detector, TransformersOwlv2)
    # one query per phrase: each phrase is its own "token"
    assert models.phrase_tokens == [[i] for i in range(len(ONTOLOGY.phrases))]
    image = np.asarray(Image.open(picture).convert("RGB"))
    height, width = image.shape[:2]
    side = max(height, width)  # boxes are relative to the padded square (upstream's docs)
    result, outputs, _ = reference(
        folders["owlv2"],
        Image.open(picture).convert("RGB"),
        [list(ONTOLOGY.phrases)],
        (side, side),
        text_labels=[list(ONTOLOGY.phrases)],
    )
    found = models.detector.detect(image, ONTOLOGY.caption)
    ours = box_ops.cxcywh_to_xyxy(found.boxes_cxcywh, width, height)
    assert_same_boxes(ours, result["boxes"].numpy(), width, height)
    np.testing.assert_allclose(
        found.token_probs.max(axis=1), result["scores"].numpy(), atol=SCORE_TOLERANCE, rtol=0
    )
    # the phrase it names, where one phrase is ahead (random weights saturate some at 1.0)
    clear = clear_winner(found.token_probs)
    assert clear.mean() > 0.5
    labels = result["labels"].numpy()
    assert (found.token_probs.argmax(axis=1) == labels)[clear].all()
    # the class score rule: a class scores the max over its phrases' queries
    probs = outputs.logits[0].sigmoid().numpy()
    expected = np.zeros((len(probs), len(ONTOLOGY.classes)), np.float32)
    for phrase, owner in enumerate(ONTOLOGY.phrase_class):
        expected[:, owner] = np.maximum(expected[:, owner], probs[:, phrase])
    boxes, scores = all_candidates(models, image)
    order = np.argsort(-expected.max(axis=1), kind="stable")
    np.testing.assert_allclose(scores, expected[order], atol=SCORE_TOLERANCE, rtol=0)
    best_class = np.array([ONTOLOGY.phrase_class[label] for label in labels[order]])
    assert (scores.argmax(axis=1) == best_class)[clear[order]].all()


def clear_winner(probs):
    """Rows whose best column is ahead of the next by more than the tolerance."""
    ranked = np.sort(probs, axis=1)
    return ranked[:, -1] - ranked[:, -2] > SCORE_TOLERANCE


def test_owlv2_refuses_a_phrase_its_text_encoder_would_cut(folders, built_smoke_models):
    long_phrase = "soda " * 20
    with pytest.raises(ConfigError, match="at most 16 per phrase") as error:
        project_models(folders["owlv2"], built_smoke_models, {"can": [long_phrase]})
    assert ontology.normalized_phrase(long_phrase) in str(error.value)


def test_an_unsupported_transformers_model_type_is_refused_naming_it(tmp_path, built_smoke_models):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "omdet-turbo"}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ConfigError, match="models.detector.model_dir.*'omdet-turbo'"):
        project_models(str(tmp_path), built_smoke_models)
