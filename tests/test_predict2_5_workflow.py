"""Cosmos-Predict2.5 (`cosmos.release: predict2.5`) through Snakemake, beside Predict2:
the same plan, and end to end through the stand-ins the same shape of every output."""

import json
import sys

import pytest

from conftest import FAKE_COSMOS, FAKE_PREDICT2_5, Project, small_dataset
from support.runs import job_counts

pytestmark = pytest.mark.workflow  # runs Snakemake: not in `make test-fast`

TEMPLATE = {
    "template": "{count} soda cans and a {who} on a belt",
    "video_template": "{count} soda cans roll past a {who}",
    "negative_prompt": "blurry",
    # The second and fourth prompts are blocked: a block in the middle of a batch.
    "variables": {"count": ["two", "three"], "who": ["worker", "BLOCKME"]},
    "classes": {"can": ["soda can"], "person": ["worker"]},
}
SITES = {
    "predict2": {"workdir": str(FAKE_COSMOS), "python": [sys.executable]},
    "predict2.5": {
        "release": "predict2.5",
        "workdir": str(FAKE_PREDICT2_5),
        "python": [sys.executable],
    },
}
# Seed 1: every prompt blocked (a stand-in hook), so one batch ends with all `blocked`.
ENV = {"FAKE_COSMOS_BLOCK_SEEDS": "1"}


def config(release, **dataset):
    # 93 frames at 16 fps, as Predict2 makes: the same 6 frames are cut from both.
    ds = small_dataset(generator="cosmos", frames={"fps": 1}, **dataset)
    return {
        "cosmos": SITES[release],
        "datasets": {"a": ds | {"predict2_5": {"num_output_frames": 93}}},
    }


def test_a_predict2_5_dataset_plans_the_same_jobs_per_seed_as_predict2(tmp_path):
    counts = {}
    for release in SITES:
        project = Project(tmp_path / release)
        project.write_config(config(release, seeds=3), TEMPLATE)
        _, output = project.snakemake("-n", "--quiet", "rules")
        counts[release] = job_counts(output)
    assert counts["predict2.5"] == counts["predict2"]
    assert counts["predict2"]["text2image"] == 3 and counts["predict2"]["video2world"] == 3


# What each release leaves beside its media in images/ and videos/ (its batch or params
# file, its config, Predict2's prompt sidecars): the only files that differ.
COSMOS_FILES = {".json", ".yaml", ".txt"}


def made_files(project):
    folder = project.path("results/a")
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file()
        and not (path.parts[-3] in ("images", "videos") and path.suffix in COSMOS_FILES)
    )


def manifest_shape(project, stage, seed):
    data = json.loads(project.path(f"results/a/{stage}/seed{seed}.manifest.json").read_text())
    return data["counts"], [(e["id"], e["status"], sorted(e)) for e in data["items"]]


def test_predict2_5_end_to_end_gives_what_predict2_gives(tmp_path):
    projects = {}
    for release in SITES:
        projects[release] = project = Project(tmp_path / release)
        project.write_config(config(release), TEMPLATE)
        project.snakemake(env=ENV)
    new, old = projects["predict2.5"], projects["predict2"]

    counts, items = manifest_shape(new, "images", 0)
    assert counts == {"made": 2, "blocked": 2, "failed": 0}
    assert [status for _, status, _ in items] == ["made", "blocked", "made", "blocked"]
    counts, items = manifest_shape(new, "images", 1)
    assert counts == {"made": 0, "blocked": 4, "failed": 0}
    # Each blocked item says what the guardrail logged, and the log says what it cost.
    entries = json.loads(new.path("results/a/images/seed1.manifest.json").read_text())["items"]
    assert all("GUARDRAIL BLOCKED" in entry["reason"] for entry in entries)
    log = new.path("logs/text2image/a/seed1.log").read_text()
    assert log.count("the model loads again") == 3 and "Predict2.5 run 4: 1 samples" in log

    # The same manifests (but for the reasons), frames, labels and exports as Predict2.
    for stage, seed in [("images", 0), ("images", 1), ("videos", 0), ("videos", 1), ("frames", 0)]:
        assert manifest_shape(new, stage, seed) == manifest_shape(old, stage, seed), (stage, seed)
    assert made_files(new) == made_files(old)
    # The stand-ins make the same pictures, so even the counts agree.
    summary = [json.loads(p.path("results/a/summary.json").read_text()) for p in (new, old)]
    assert summary[0] == summary[1]
    assert summary[0]["frames"]["files"] == 6  # 93 frames at 16 fps -> 1 fps

    # Reruns: site settings change nothing; a Predict2.5 setting regenerates.
    changed = config("predict2.5")
    changed["cosmos"]["max_restarts"] = 2
    new.write_config(changed, TEMPLATE)
    _, output = new.snakemake("-n")
    assert "Nothing to be done" in output
    changed["datasets"]["a"]["predict2_5"]["guidance"] = 3
    new.write_config(changed, TEMPLATE)
    _, output = new.snakemake("-n", "--quiet", "rules")
    counts = job_counts(output)
    assert counts["text2image"] == 2 and counts["video2world"] == 2
    assert "expand_prompts" not in counts
