"""SAM 3 end to end: a small procedural dataset labeled with `backend: sam3` (the smoke
model, random weights) through the default profile, where each SAM 3 job re-executes
under .venv-sam3/'s python, and on to the exports."""

import json

import pytest

from conftest import small_dataset
from test_sam3 import require_sam3_env

pytestmark = pytest.mark.workflow  # runs Snakemake: not in `make test-fast`


def test_sam3_labels_images_and_videos_into_the_usual_candidates(project):
    require_sam3_env()
    project.write_config(
        {
            "models": {"device": "cpu", "detector": {"backend": "sam3"}},
            "datasets": {"d": small_dataset(seeds=1)},
        }
    )
    project.snakemake("results/d/summary.json", "results/d/coco")
    images = json.loads(project.path("results/d/candidates/images/part0.json").read_text())
    candidates = [c for item in images["items"] for c in item["candidates"]]
    assert candidates and images["skipped"] == []
    classes = images["classes"]
    for candidate in candidates:
        assert len(candidate["scores"]) == len(classes)
        assert sum(score > 0 for score in candidate["scores"]) == 1  # its phrase's class
        assert candidate["mask_area"] > 0 and candidate["mask_score"] == max(candidate["scores"])
    frames = json.loads(project.path("results/d/candidates/frames/part0.json").read_text())
    tracks = [t for item in frames["items"] for t in item["tracks"]]
    assert tracks and all(t["windows"] and t["masks"] for t in tracks)
    for rule in ("detect_images", "track_videos"):
        log = project.path(f"logs/{rule}/d/part0.log").read_text()
        assert "SAM 3 with transformers 5." in log and ".venv-sam3" in log
    summary = json.loads(project.path("results/d/summary.json").read_text())
    assert summary  # the CPU stages and exports read the candidates unchanged
