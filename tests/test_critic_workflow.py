"""The demo with the media critic and the label validator on, against the stand-in endpoint
tests/fake_vlm (not a model): rejected media and labels reach the exports, summary and
statistics; a second run asks nothing; a threshold tweak asks only about new labels."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT, small_dataset
from fake_vlm import FakeVLM
from support.runs import job_counts
from synthdet.label import label_validator

pytestmark = pytest.mark.workflow  # runs Snakemake: not in `make test-fast`

# The forklift images (half of them), one video (whichever is asked first), and the first
# three labels the labeler called a can are rejected.
SCRIPT = [
    {"when": "and a forklift on a belt", "answer": "reject"},
    {"when": "(shown as 3 of its frames", "answer": "reject", "times": 1},
    {"when": "called 'can'", "answer": "reject", "times": 3},
]


@pytest.fixture
def vlm(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeVLM(SCRIPT) as server:
        yield server


def critic_config(agnostic):
    labeling = {
        "smoke_models": True,
        "video": {"detect_every": 2},
        "thresholds": {"validator": "drop", "class_agnostic_nms": agnostic},
    }
    critic = {
        "model": "standin-vlm",
        "base_url_env": "SYNTHDET_VLM_URL",
        "api_key_env": "SYNTHDET_VLM_KEY",
        "concurrency": 4,
        "timeout": 10,
    }
    dataset = small_dataset(labeling=labeling, critic=critic, exports={"empty_images": "unlabeled"})
    return {"datasets": {"a": dataset}}


def read(project, relative):
    return json.loads(project.path(relative).read_text())


def objects(project, pattern):
    return [
        obj
        for path in sorted(project.folder.glob(pattern))
        for item in json.loads(path.read_text())["items"]
        for obj in item["objects"]
    ]


def questions(project):
    """What the validator asks about after filter_labels: (image, box, class) shown."""
    items = read(project, "results/a/labels/part0.json")["items"]
    shown = [
        items[i]["objects"][j] | {"image": items[i]["image"]}
        for _, (i, j) in label_validator.label_groups(items)
    ]
    return {(o["image"], tuple(round(v, 2) for v in o["box"]), o["class"]) for o in shown}


def cached_answers(project):
    return len(list(project.path("results/a/critic/cache").rglob("*.json")))


def test_critic_and_validator_reject_media_and_labels_and_ask_each_question_once(project, vlm):
    env = {"SYNTHDET_VLM_URL": vlm.base_url, "SYNTHDET_VLM_KEY": "k", "NO_PROXY": "127.0.0.1"}
    project.write_config(critic_config(True))
    _, output = project.snakemake(env=env)
    assert vlm.problems == []
    asked = len(vlm.requests)
    assert job_counts(output)["critique_media"] == 4 and job_counts(output)["validate_labels"] == 1
    assert cached_answers(project) == asked  # one answer per request: nothing retried

    # Media: the 4 forklift images of 8 and 1 video of 2 rejected, with the reason; what
    # the labeler saw and the exports hold are the others.
    summary = read(project, "results/a/summary.json")
    assert summary["images"]["rejected"] == 4 and summary["frames"]["rejected"] == 1
    media = summary["critic"]["media"]
    assert media["images"]["reasons"] == {"critic: stand-in rejects": 4}
    assert read(project, "results/a/stats/stats.json")["critic"]["media"] == media
    rejected = set()  # how exports name an image, and how they begin a video's frames
    for seed in (0, 1):
        for stage, name in (("images", "seed{}_{}.jpg"), ("frames", "seed{}_{}_f")):
            manifest = read(project, f"results/a/critic/{stage}/seed{seed}.manifest.json")
            found = [i["id"] for i in manifest["items"] if i["status"] == "rejected"]
            rejected |= {name.format(seed, item) for item in found}
    assert len(rejected) == 5
    exported = [p.name for p in project.folder.glob("results/a/voc/JPEGImages/*.jpg")]
    assert not [name for name in exported if name.startswith(tuple(rejected))]
    assert len(exported) == summary["labels"]["items"] == 4 + summary["frames"]["files"]

    # Labels: the validator dropped the three it rejected; the exports hold the rest.
    kept, validated = objects(project, "results/a/labels/*.json"), objects(
        project, "results/a/validated/*.json"
    )
    counts = read(project, "results/a/validated/part0.json")["validator"]
    assert counts["reject"] == 3 and counts["dropped"] >= 3
    assert len(validated) == len(kept) - counts["dropped"]
    assert all(o["validator"]["verdict"] == "accept" for o in validated)
    coco = [
        read(project, f"results/a/coco/annotations/instances_{s}.json") for s in ("train", "test")
    ]
    assert sum(len(c["annotations"]) for c in coco) == len(validated)
    assert summary["critic"]["labels"] == {
        "mode": "drop",
        **{k: v for k, v in counts.items() if k not in ("mode", "model")},
    }

    # A second run asks nothing.
    _, output = project.snakemake(env=env)
    assert "Nothing to be done" in output and len(vlm.requests) == asked

    # A threshold tweak asks only about labels never asked about (NMS per class keeps more
    # of the smoke models' boxes); going back asks nothing.
    before = questions(project)
    project.write_config(critic_config(False))
    _, output = project.snakemake(env=env)
    assert job_counts(output)["validate_labels"] == 1
    new = questions(project) - before
    assert new and len(vlm.requests) - asked == len(new)
    assert all("called" in r["text"] for r in vlm.requests[asked:])  # labels only
    asked = len(vlm.requests)
    project.write_config(critic_config(True))
    _, output = project.snakemake(env=env)
    assert job_counts(output)["validate_labels"] == 1 and len(vlm.requests) == asked


# Which rules the workflow marks local, as Snakemake's API parses the Snakefile.
LOCAL_RULES = """
import sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (
    ConfigSettings, OutputSettings, ResourceSettings, StorageSettings,
)

workdir = Path(sys.argv[2])
with SnakemakeApi(OutputSettings()) as api:
    workflow = api.workflow(
        resource_settings=ResourceSettings(),
        config_settings=ConfigSettings(configfiles=[workdir / "config" / "config.yaml"]),
        storage_settings=StorageSettings(),
        snakefile=Path(sys.argv[1]),
        workdir=workdir,
    )
    print(" ".join(sorted(workflow._workflow._localrules)))
"""


@pytest.mark.parametrize("where, local", [("local", True), ("cluster", False)])
def test_critic_jobs_run_locally_or_as_cluster_jobs_as_configured(project, where, local):
    config = critic_config(True)
    config["critic_jobs"] = where
    project.write_config(config)
    run = subprocess.run(
        [sys.executable, "-c", LOCAL_RULES, str(ROOT / "Snakefile"), str(project.folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    rules = run.stdout.split()
    assert "expand_prompts" in rules and "detect_images" not in rules
    assert ("critique_media" in rules) == local and ("validate_labels" in rules) == local
