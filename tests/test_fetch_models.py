"""`snakemake fetch_models` against a STAND-IN hub and file server on 127.0.0.1
(tests/support/stand_in_hub.py; not Hugging Face, not GitHub): resuming, checksums,
gated refusals, and which files the config's `models:` names."""

import hashlib
import io
import os

import pytest
import yaml

from conftest import ROOT, small_dataset
from support.stand_in_hub import StandInHub
from synthdet.core.errors import ConfigError
from synthdet.setup import fetch_models, model_pins
from synthdet.setup.downloads import FetchError, fetch
from synthdet.setup.model_pins import Pin

PINS = ROOT / "workflow" / "model_pins.yaml"
WEIGHTS = bytes(range(256)) * 1200  # 300 KiB, several read blocks
REVISION = "0123456789abcdef0123456789abcdef01234567"


def sha(content):
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def hub():
    server = StandInHub().start()
    yield server
    server.stop()


def hub_pin(hub, content=WEIGHTS, name="sam3/sam3.pt", repo="meta/sam3", **extra):
    hub.hub_file(repo, REVISION, "sam3.pt", content)
    fields = dict(sha256=sha(content), hub=repo, revision=REVISION, file="sam3.pt")
    return Pin(name=name, **{**fields, **extra})


def env(hub, **extra):
    return {"HF_ENDPOINT": hub.url, **extra}


def test_an_interrupted_download_resumes_without_fetching_bytes_again(hub, tmp_path):
    pin = hub_pin(hub, size=len(WEIGHTS))
    hub.drop_after[f"/meta/sam3/resolve/{REVISION}/sam3.pt"] = 100_000

    assert fetch(pin, tmp_path, env(hub)) == "fetched"

    assert (tmp_path / "sam3/sam3.pt").read_bytes() == WEIGHTS
    assert not (tmp_path / "sam3/sam3.pt.part").exists()
    first, second = hub.log
    assert (first.start, first.sent) == (0, 100_000)
    assert (second.status, second.start) == (206, 100_000)
    assert sum(s.sent for s in hub.log) == len(WEIGHTS)


def test_a_part_left_by_an_earlier_run_is_continued_not_restarted(hub, tmp_path):
    url = hub.release_file("w.pth", WEIGHTS)
    pin = Pin(name="w.pth", sha256=sha(WEIGHTS), url=url)
    (tmp_path / "w.pth.part").write_bytes(WEIGHTS[:123_456])

    assert fetch(pin, tmp_path, env(hub)) == "fetched"

    assert (tmp_path / "w.pth").read_bytes() == WEIGHTS
    assert [(s.start, s.sent) for s in hub.log] == [(123_456, len(WEIGHTS) - 123_456)]


def test_a_run_that_gives_up_keeps_its_bytes_for_the_next_run(hub, tmp_path):
    url = hub.release_file("w.pth", WEIGHTS)
    pin = Pin(name="w.pth", sha256=sha(WEIGHTS), url=url)
    hub.drop_after["/files/w.pth"] = 100_000

    with pytest.raises(FetchError, match="100000 bytes are kept in .*w.pth.part: run fetch_models"):
        fetch(pin, tmp_path, env(hub), attempts=1)
    assert fetch(pin, tmp_path, env(hub)) == "fetched"

    assert (tmp_path / "w.pth").read_bytes() == WEIGHTS
    assert [(s.start, s.sent) for s in hub.log] == [(0, 100_000), (100_000, len(WEIGHTS) - 100_000)]


def test_a_checksum_mismatch_stops_naming_the_file_and_removes_the_partial(hub, tmp_path):
    url = hub.release_file("w.pth", WEIGHTS)
    pin = Pin(name="groundingdino/w.pth", sha256=sha(b"what upstream published"), url=url)

    with pytest.raises(FetchError, match="checksum mismatch") as caught:
        fetch(pin, tmp_path, env(hub))

    assert str(tmp_path / "groundingdino/w.pth") in str(caught.value)
    assert sha(WEIGHTS) in str(caught.value)
    assert list((tmp_path / "groundingdino").iterdir()) == []


def test_a_gated_file_without_a_token_says_which_licence_to_accept(hub, tmp_path):
    hub.gated["meta/sam3"] = "hf_right"
    pin = hub_pin(hub, gated="https://huggingface.co/facebook/sam3")

    with pytest.raises(FetchError) as caught:
        fetch(pin, tmp_path, env(hub))

    message = str(caught.value)
    assert "HTTP 401" in message and "sam3/sam3.pt" in message
    assert "accept its licence at https://huggingface.co/facebook/sam3" in message.lower()
    assert "HF_TOKEN is not set" in message
    with pytest.raises(FetchError, match="HTTP 403.*HF_TOKEN is set"):
        fetch(pin, tmp_path, env(hub, HF_TOKEN="hf_wrong"))
    assert not (tmp_path / "sam3/sam3.pt").exists()


def test_the_token_goes_to_the_hub_and_never_to_a_release_server(hub, tmp_path):
    hub.gated["meta/sam3"] = "hf_right"
    gated = hub_pin(hub)
    url = hub.release_file("w.pth", WEIGHTS)
    release = Pin(name="w.pth", sha256=sha(WEIGHTS), url=url)

    hub.to_cdn = True  # the hub sends large files on to a CDN: the token must stay behind

    fetch(gated, tmp_path, env(hub, HF_TOKEN="hf_right"))
    fetch(release, tmp_path, env(hub, HF_TOKEN="hf_right"))

    assert [(s.status, s.authorization) for s in hub.log] == [
        (302, "Bearer hf_right"),
        (200, None),
        (200, None),
    ]
    assert (tmp_path / "sam3/sam3.pt").read_bytes() == WEIGHTS


def test_a_present_file_is_verified_and_a_wrong_one_kept_but_refused(hub, tmp_path):
    url = hub.release_file("w.pth", WEIGHTS)
    pin = Pin(name="w.pth", sha256=sha(WEIGHTS), url=url)
    (tmp_path / "w.pth").write_bytes(WEIGHTS)
    assert fetch(pin, tmp_path, env(hub)) == "present"
    (tmp_path / "w.pth").write_bytes(b"something else")

    with pytest.raises(FetchError, match="w.pth is there but its SHA-256"):
        fetch(pin, tmp_path, env(hub))

    assert (tmp_path / "w.pth").read_bytes() == b"something else"
    assert hub.log == []


def test_the_shipped_config_names_pinned_files_only(tmp_path):
    models = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"]
    pins = model_pins.read_pins(PINS)

    wanted = [p.name for p in model_pins.pins_to_fetch(models, pins, PINS, root=tmp_path)]

    assert wanted == [
        "groundingdino/groundingdino_swint_ogc.pth",
        "groundingdino/GroundingDINO_SwinT_OGC.py",
        "bert-base-uncased/config.json",
        "bert-base-uncased/tokenizer.json",
        "bert-base-uncased/tokenizer_config.json",
        "bert-base-uncased/vocab.txt",
        "bert-base-uncased/model.safetensors",
        "sam2.1_hiera_large.pt",
    ]


def test_every_shipped_pin_says_where_its_hash_was_published():
    entries = yaml.safe_load(PINS.read_text())["files"]
    assert all(len(e.get("sha256_source", "")) > 40 for e in entries.values())
    assert model_pins.read_pins(PINS)["sam3/sam3.pt"].gated.startswith("https://huggingface.co/")


def test_an_unpinned_missing_file_is_refused_with_its_key(tmp_path):
    models = {"folder": "checkpoints", "sam2": {"checkpoint": "checkpoints/mine.pt"}}
    pins = model_pins.read_pins(PINS)
    with pytest.raises(ConfigError, match="models.sam2.checkpoint: checkpoints/mine.pt: .*pins no"):
        model_pins.pins_to_fetch(models, pins, PINS, root=tmp_path)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints/mine.pt").write_bytes(b"fine-tuned, placed by hand")
    assert model_pins.pins_to_fetch(models, pins, PINS, root=tmp_path) == []
    elsewhere = {"folder": "checkpoints", "sam2": {"checkpoint": "/elsewhere/mine.pt"}}
    assert model_pins.pins_to_fetch(elsewhere, pins, PINS, root=tmp_path) == []


def test_a_malformed_pin_names_its_entry(tmp_path):
    path = tmp_path / "pins.yaml"
    path.write_text(yaml.safe_dump({"files": {"a.pt": {"url": "http://x", "sha256": "abc"}}}))
    with pytest.raises(ConfigError, match=r"pins.yaml: files.a.pt.sha256: expected 64"):
        model_pins.read_pins(path)
    path.write_text(yaml.safe_dump({"files": {"../a.pt": {"url": "http://x", "sha256": "0" * 64}}}))
    with pytest.raises(ConfigError, match="inside the models folder"):
        model_pins.read_pins(path)


def test_fetch_all_prints_each_file_and_the_failure(hub, tmp_path):
    url = hub.release_file("w.pth", WEIGHTS)
    pins = tmp_path / "pins.yaml"
    entry = {"url": url, "sha256": sha(WEIGHTS)}
    files = {"w.pth": entry, "bad.pth": {**entry, "sha256": "0" * 64}}
    pins.write_text(yaml.safe_dump({"files": files}, sort_keys=False))
    models = {
        "folder": "m",
        "detector": {"checkpoint": "m/w.pth"},
        "sam2": {"checkpoint": "m/bad.pth"},
    }
    out = io.StringIO()

    with pytest.raises(FetchError):
        fetch_models.fetch_all(models, pins, out, root=tmp_path, environ=env(hub))

    assert f"{os.path.join(tmp_path, 'm', 'w.pth')}: fetched, SHA-256 verified" in out.getvalue()
    assert "bad.pth: checksum mismatch" in out.getvalue()


@pytest.mark.workflow
def test_the_fetch_models_rule_fetches_what_the_config_names(project, hub):
    hub.hub_file("org/bert", REVISION, "vocab.txt", b"[PAD]\n[UNK]\n")
    url = hub.release_file("gd.pth", WEIGHTS)
    pins = {
        "gd/gd.pth": {"url": url, "sha256": sha(WEIGHTS)},
        "bert/vocab.txt": {
            **{"hub": "org/bert", "revision": REVISION, "file": "vocab.txt"},
            "sha256": sha(b"[PAD]\n[UNK]\n"),
        },
    }
    (project.folder / "pins.yaml").write_text(yaml.safe_dump({"files": pins}))
    models = {
        "folder": "models",
        "pins": "pins.yaml",
        "detector": {"checkpoint": "models/gd/gd.pth", "text_encoder": "models/bert"},
    }
    project.write_config({"models": models, "datasets": {"small": small_dataset()}})

    _, output = project.snakemake("fetch_models", env={"HF_ENDPOINT": hub.url})

    assert project.path("models/gd/gd.pth").read_bytes() == WEIGHTS
    assert project.path("models/bert/vocab.txt").read_bytes() == b"[PAD]\n[UNK]\n"
    assert "models/bert/vocab.txt: fetched, SHA-256 verified" in output
