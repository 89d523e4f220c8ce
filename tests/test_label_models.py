"""The real model loading and inference code, run on smoke models (random weights:
the labels are meaningless; these tests check the machinery, not the accuracy)."""

import io

import numpy as np
import pytest
import torch

from synthdet.core import rle
from synthdet.core.atomic import read_json
from synthdet.generate import frames, generate
from synthdet.label import label_job, label_models
from synthdet.label.image_labeling import label_images
from synthdet.label.job_settings import label_settings
from synthdet.label.job_io import made_with_seed
from synthdet.label.label_models import load_models
from synthdet.label.video_labeling import label_videos
from synthdet.setup import ontology
from synthdet.setup.config import labeling_defaults

CLASSES = {"can": ["soda can", "drink can"], "person": ["worker"], "forklift": ["forklift"]}
PARAMS = {
    **labeling_defaults("video"),
    "candidate_floor": 0.05,
    "max_candidates": 7,
    "detect_every": 2,
}
SETTINGS = label_settings("videos", PARAMS)


def model_settings(smoke, backend):
    detector = {"backend": backend, "image_size": 256, **smoke[backend]}
    return {"device": "cpu", "detector": detector, "sam2": smoke["sam2"]}


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """Two procedural seed batches: images, videos and frames, as the workflow makes them."""
    root = tmp_path_factory.mktemp("media")
    paths = {"images": [], "frames": []}
    for seed in (0, 1):
        items = [
            {
                "prompt": f"two soda cans and a worker, take {i}",
                "output_image": str(root / f"images/seed{seed}/p{i}.jpg"),
            }
            for i in range(3)
        ]
        (root / f"t2i{seed}.json").write_text(__import__("json").dumps(items))
        job = {
            "dataset": "d",
            "seed": seed,
            "generator": "procedural",
            "negative_prompt": "",
            "classes": CLASSES,
            "procedural": {"width": 128, "video_frames": 9},
            "settings": {"aspect_ratio": "16:9", "fps": 16},
        }
        images = root / f"images/seed{seed}.manifest.json"
        generate.text2image(
            root / f"t2i{seed}.json", root / f"images/seed{seed}", images, job, root / "log"
        )
        videos = [
            {
                "input_video": i["output_image"],
                "prompt": "cans roll",
                "output_video": str(root / f"videos/seed{seed}/p{n}.mp4"),
            }
            for n, i in enumerate(items[:1])
        ]
        (root / f"v2w{seed}.json").write_text(__import__("json").dumps(videos))
        generate.video2world(
            root / f"v2w{seed}.json",
            images,
            root / f"videos/seed{seed}",
            root / f"videos/seed{seed}.manifest.json",
            job,
            root / "log",
        )
        frames.cut_batch(
            root / f"videos/seed{seed}.manifest.json",
            root / f"frames/seed{seed}",
            root / f"frames/seed{seed}.manifest.json",
            "d",
            seed,
            16,
        )
        paths["images"].append(str(images))
        paths["frames"].append(str(root / f"frames/seed{seed}.manifest.json"))
    return paths


@pytest.mark.parametrize("backend", ["groundingdino", "transformers"])
def test_image_candidates_on_both_detector_backends(smoke, media, tmp_path, backend):
    models = load_models(model_settings(smoke, backend), CLASSES)
    result = label_images(
        made_with_seed(media["images"]), tmp_path / "c.json", SETTINGS, models, io.StringIO()
    )
    assert result == read_json(tmp_path / "c.json")
    assert result["classes"] == ["can", "person", "forklift"] and len(result["items"]) == 6
    for item in result["items"]:
        assert (item["width"], item["height"]) == (128, 64)
        assert 0 < len(item["candidates"]) <= 7
        for c in item["candidates"]:
            assert len(c["scores"]) == 3 and max(c["scores"]) >= 0.05
            x1, y1, x2, y2 = c["box"]
            assert 0 <= x1 <= x2 <= 128 and 0 <= y1 <= y2 <= 64
            mask = rle.decode(c["mask"])
            assert mask.shape == (64, 128) and mask.sum() == c["mask_area"]
            assert c["mask_box"] == rle.bbox_xyxy(c["mask"])


@pytest.mark.parametrize("backend", ["groundingdino", "transformers"])
def test_video_tracks_on_both_detector_backends(smoke, media, tmp_path, backend):
    models = load_models(model_settings(smoke, backend), CLASSES)
    result = label_videos(
        made_with_seed(media["frames"]), tmp_path / "v.json", SETTINGS, models, io.StringIO()
    )
    assert len(result["items"]) == 2
    for item in result["items"]:
        assert len(item["frames"]) == 9
        ids = [t["track"] for t in item["tracks"]]
        assert ids == list(range(len(ids)))  # continuous ids from 0
        for track in item["tracks"]:
            assert track["detected_at"] and all(k % 2 == 0 for k in track["detected_at"])
            for frame, state in track["masks"].items():
                assert 0 <= int(frame) < 9 and rle.decode(state["mask"]).shape == (64, 128)


def test_models_load_once_per_job_however_many_images(smoke, media, tmp_path, monkeypatch):
    calls = {"detector": 0, "sam2": 0}

    def counting(name, real):
        def load(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return load

    monkeypatch.setattr(
        label_models, "load_detector", counting("detector", label_models.load_detector)
    )
    monkeypatch.setattr(label_models, "load_sam2", counting("sam2", label_models.load_sam2))
    log = io.StringIO()
    models = load_models(model_settings(smoke, "transformers"), CLASSES)
    label_images(made_with_seed(media["images"] * 3), tmp_path / "c.json", SETTINGS, models, log)
    label_videos(made_with_seed(media["frames"]), tmp_path / "v.json", SETTINGS, models, log)
    assert calls == {"detector": 1, "sam2": 1}


@pytest.mark.fault("labeling: truncated image among good ones")
def test_unreadable_image_is_recorded_and_skipped(smoke, media, tmp_path):
    manifest = read_json(media["images"][0])
    broken = tmp_path / "broken.jpg"
    data = open(manifest["items"][0]["path"], "rb").read()
    broken.write_bytes(data[: len(data) // 3])
    manifest["items"][0] = {**manifest["items"][0], "path": str(broken)}
    (tmp_path / "m.json").write_text(__import__("json").dumps(manifest))
    models = load_models(model_settings(smoke, "transformers"), CLASSES)
    result = label_images(
        made_with_seed([tmp_path / "m.json"]), tmp_path / "c.json", SETTINGS, models, io.StringIO()
    )
    assert [s["path"] for s in result["skipped"]] == [str(broken)]
    assert "unreadable image" in result["skipped"][0]["reason"]
    assert len(result["items"]) == 2


@pytest.mark.fault("labeling: missing checkpoint file")
def test_missing_checkpoint_names_the_config_key(smoke):
    settings = model_settings(smoke, "groundingdino")
    settings["detector"]["checkpoint"] = "/nowhere/model.pth"
    with pytest.raises(
        ValueError, match="models.detector.checkpoint: '/nowhere/model.pth' does not exist"
    ):
        load_models(settings, CLASSES)


class CraftedOutput(torch.nn.Module):
    """Stands in for a Grounding DINO forward pass with chosen token logits, so the
    package's own predict() and this project's scoring read the same model output."""

    def __init__(self, tokenizer, logits):
        super().__init__()
        self.tokenizer = tokenizer
        self.logits = logits

    def forward(self, images, captions):
        queries = self.logits.shape[0]
        padded = torch.full((1, queries, 256), float("-inf"))
        padded[0, :, : self.logits.shape[1]] = self.logits
        return {"pred_logits": padded, "pred_boxes": torch.full((1, queries, 4), 0.5)}


def test_class_scores_agree_with_groundingdino_predict(smoke):
    from groundingdino.util.inference import predict
    from transformers import BertTokenizerFast

    tokenizer = BertTokenizerFast.from_pretrained(smoke["groundingdino"]["text_encoder"])
    onto = ontology.build(CLASSES)
    offsets = tokenizer(onto.caption, return_offsets_mapping=True)["offset_mapping"]
    tokens = ontology.phrase_tokens(onto, offsets)
    generator = torch.Generator().manual_seed(0)
    logits = torch.full((40, len(offsets)), -6.0)
    for query in range(40):  # one phrase lit per query, at strengths around the thresholds
        phrase = query % len(tokens)
        logits[query, tokens[phrase]] = torch.empty(len(tokens[phrase])).uniform_(
            -2.0, 2.0, generator=generator
        )
    model = CraftedOutput(tokenizer, logits)
    box_threshold, text_threshold = 0.35, 0.25
    _, gd_scores, gd_phrases = predict(
        model, torch.zeros(3, 8, 8), onto.caption, box_threshold, text_threshold, device="cpu"
    )
    ours = ontology.class_scores(logits.sigmoid().numpy(), onto, tokens)
    passing = [q for q in range(40) if ours[q].max() >= max(box_threshold, text_threshold)]
    assert len(passing) == len(gd_phrases) > 5
    owner = {phrase: onto.classes[onto.phrase_class[i]] for i, phrase in enumerate(onto.phrases)}
    agreed = 0
    for query, gd_phrase, gd_score in zip(passing, gd_phrases, gd_scores):
        assert ours[query].max() == pytest.approx(float(gd_score), abs=1e-6)
        if gd_phrase.strip() in owner:  # the phrase is unambiguous: the classes must agree
            assert onto.classes[int(ours[query].argmax())] == owner[gd_phrase.strip()]
            agreed += 1
    assert agreed > 5


@pytest.mark.fault("labeling: corrupt frame in one video of a job")
def test_a_corrupt_frame_skips_its_video_not_the_job(smoke, media, tmp_path):
    manifest = read_json(media["frames"][0])
    entry = manifest["items"][0]
    frames_dir = tmp_path / "frames"
    __import__("shutil").copytree(entry["frames_dir"], frames_dir)
    (frames_dir / entry["frames"][-1]["file"]).write_bytes(b"\xff\xd8 not a jpeg")
    manifest["items"] = [{**entry, "frames_dir": str(frames_dir)}]
    (tmp_path / "m.json").write_text(__import__("json").dumps(manifest))
    models = load_models(model_settings(smoke, "transformers"), CLASSES)
    paths = [str(tmp_path / "m.json"), media["frames"][1]]
    result = label_videos(
        made_with_seed(paths), tmp_path / "v.json", SETTINGS, models, io.StringIO()
    )
    assert [s["path"] for s in result["skipped"]] == [str(frames_dir)]
    assert "unreadable image" in result["skipped"][0]["reason"]
    assert len(result["items"]) == 1


@pytest.mark.fault("labeling: a batch with nothing made upstream")
def test_nothing_to_label_loads_no_model(tmp_path, monkeypatch):
    empty = {"seed": 0, "items": [{"id": "p1", "status": "blocked"}]}
    (tmp_path / "m.json").write_text(__import__("json").dumps(empty))

    def never(*args):
        raise AssertionError("models loaded for an empty batch")

    monkeypatch.setattr(label_job, "load_models", never)
    out = tmp_path / "c.json"
    result = label_job.run_job(
        "videos", [tmp_path / "m.json"], out, SETTINGS, {}, {"can": ["can"]}, None
    )
    assert result == read_json(out)
    assert result == {"kind": "videos", "classes": ["can"], "items": [], "skipped": []}


@pytest.mark.parametrize("kind", ["images", "videos"])
def test_run_job_loads_the_models_once_and_labels_its_kind_with_them(
    media, tmp_path, monkeypatch, kind
):
    """No loader travels down: the labeling of the job's kind gets the loaded models."""
    loads, calls = [], []
    monkeypatch.setattr(label_job, "load_models", lambda *args: loads.append(args) or "models")
    monkeypatch.setattr(label_job, "LABEL", {kind: lambda *args: calls.append(args)})
    manifests = media["images" if kind == "images" else "frames"]
    label_job.run_job(
        kind, manifests, tmp_path / "c.json", SETTINGS, {"device": "cpu"}, CLASSES, None
    )
    assert loads == [({"device": "cpu"}, CLASSES)]
    assert calls == [(made_with_seed(manifests), tmp_path / "c.json", SETTINGS, "models", None)]


@pytest.mark.parametrize("backend", ["groundingdino", "transformers"])
def test_model_load_refuses_a_caption_over_256_tokens_naming_the_phrase(smoke, backend):
    # The smoke vocabulary spells unknown words letter by letter: 5 tokens a phrase here.
    classes = {
        f"c{i}": [f"{a}{b}qy"]
        for i, (a, b) in enumerate((a, b) for a in "bcdfgh" for b in "bcdfghjklm")
    }
    with pytest.raises(
        ValueError, match="302 tokens, above the detector's 256 .* overflows at phrase 'hcqy'"
    ):
        load_models(model_settings(smoke, backend), classes)
