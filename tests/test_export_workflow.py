"""The exports of a workflow run: the same bytes wherever the project lives, and a split
in which no seed batch or video has items on both sides."""

import pytest
import hashlib
import json
import shutil
import sys
import xml.etree.ElementTree as ElementTree

from conftest import ROOT, Project, small_dataset
from synthdet.export.voc_format import EDGE_IMPULSE_FOLDERS
from synthdet.export.naming import export_name

pytestmark = pytest.mark.workflow  # runs Snakemake: not in `make test-fast`

EXPORTS = ("voc", "edge_impulse", "coco", "mot", "yolo")
SPLIT = {"test_fraction": 0.5, "seed": 2}  # of seeds 0 and 1: seed 0 trains, seed 1 tests


def export_checksums(project):
    found = {}
    for name in EXPORTS:
        for path in sorted(project.path(f"results/a/{name}").rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                relative = str(path.relative_to(project.folder))
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def sides_by_name(project):
    """Export name -> side, for every format."""
    results = project.path("results/a")
    sides = {"voc": {}, "edge_impulse": {}, "coco": {}, "yolo/detect": {}, "yolo/segment": {}}
    for side, folder in EDGE_IMPULSE_FOLDERS.items():
        for stem in (results / f"voc/ImageSets/Main/{side}.txt").read_text().split():
            sides["voc"][f"{stem}.jpg"] = side
        for path in (results / "edge_impulse" / folder).glob("*.jpg"):
            sides["edge_impulse"][path.name] = side
        coco = json.loads((results / f"coco/annotations/instances_{side}.json").read_text())
        sides["coco"].update({image["file_name"]: side for image in coco["images"]})
        for task in ("detect", "segment"):
            for path in (results / "yolo" / task / "images" / side).iterdir():
                sides[f"yolo/{task}"][path.name] = side
    return sides


def test_exports_split_by_seed_and_are_the_same_bytes_in_another_folder(tmp_path):
    first = Project(tmp_path / "one")
    # The stand-in uploader (tests/fake_edge_impulse, not Edge Impulse) for the opt-in upload.
    uploader = [sys.executable, str(ROOT / "tests" / "fake_edge_impulse" / "edge-impulse-uploader")]
    first.write_config(
        {
            "edge_impulse": {"uploader": uploader, "api_key_env": "EI_TEST_KEY"},
            "datasets": {"a": small_dataset(exports={"split": SPLIT})},
        }
    )
    first.snakemake()
    assert not first.path("results/a/uploads").exists()  # never part of the default run

    # No seed and no video on both sides, in any format; every format splits alike.
    items = [
        item
        for part in first.path("results/a/labels").glob("part*.json")
        for item in json.loads(part.read_text())["items"]
        if item["objects"]
    ]
    sides = sides_by_name(first)
    assert all(formats == sides["voc"] for formats in sides.values())
    assert set(sides["voc"]) == {export_name(item) for item in items}
    # A video is its seed and prompt id: each seed animates the same prompts anew.
    for key in (("seed",), ("seed", "video")):
        groups = {}
        for item in items:
            if all(k in item for k in key):
                group = tuple(item[k] for k in key)
                groups.setdefault(group, set()).add(sides["voc"][export_name(item)])
        assert groups and all(len(found) == 1 for found in groups.values()), (key, groups)
    assert set(sides["voc"].values()) == {"train", "test"}

    # No file names where the project lives.
    for xml in first.path("results/a").glob("*/**/*.xml"):
        assert str(tmp_path) not in xml.read_text()
        assert not ElementTree.parse(xml).getroot().findtext("path").startswith("/")

    second = Project(tmp_path / "elsewhere" / "two")
    shutil.copytree(first.folder, second.folder, symlinks=True)
    for name in EXPORTS:
        shutil.rmtree(second.path(f"results/a/{name}"))
    second.snakemake("--forcerun", "export_voc", "export_coco", "export_mot", "export_yolo")
    assert export_checksums(second) == export_checksums(first)

    # The opt-in upload sends each split folder to its own side, every image once.
    calls = tmp_path / "calls.jsonl"
    env = {"EI_TEST_KEY": "ei_secret_key", "FAKE_EI_CALLS": str(calls)}
    first.snakemake("upload_to_edge_impulse", env=env)
    uploaded = {}
    for line in calls.read_text().splitlines():
        call = json.loads(line)
        uploaded[call["file"].split("/")[-1]] = call["category"]
    expected = {"train": "training", "test": "testing"}
    assert uploaded == {name: expected[side] for name, side in sides["edge_impulse"].items()}
    record = json.loads(first.path("results/a/uploads/edge_impulse.json").read_text())
    assert sum(len(s["uploaded"]) for s in record["splits"].values()) == len(uploaded)
    log = first.path("logs/edge_impulse_upload/a.log").read_text()
    assert "ei_secret_key" not in log and "--api-key ***" in log


def test_a_sharded_dataset_exports_each_shard_and_joins_coco_and_yolo(tmp_path):
    """exports.shard_parts 1 over two labeling parts: two shards, each format's shard
    folders, one COCO file per side over both (file_name relative to coco/), one YOLO
    data.yaml per task listing the shards, distinct track ids, and the upload per shard."""
    import yaml

    project = Project(tmp_path / "p")
    uploader = [sys.executable, str(ROOT / "tests" / "fake_edge_impulse" / "edge-impulse-uploader")]
    labeling = {"smoke_models": True, "video": {"detect_every": 2}, "batches_per_job": 1}
    dataset = small_dataset(labeling=labeling, exports={"split": SPLIT, "shard_parts": 1})
    project.write_config(
        {
            "edge_impulse": {"uploader": uploader, "api_key_env": "EI_TEST_KEY"},
            "datasets": {"a": dataset},
        }
    )
    project.snakemake()
    results = project.path("results/a")
    summary = json.loads((results / "summary.json").read_text())
    assert summary["exports"]["voc"] == ["results/a/voc/shard0", "results/a/voc/shard1"]
    for name in ("voc", "edge_impulse", "coco", "mot", "yolo"):
        assert sorted(p.name for p in (results / name).glob("shard*")) == ["shard0", "shard1"]
    tracks = set()
    for side in ("train", "test"):
        coco = json.loads((results / f"coco/annotations/instances_{side}.json").read_text())
        assert coco["images"] and all(
            (results / "coco" / i["file_name"]).is_file() for i in coco["images"]
        )
        shard = "shard0" if side == "train" else "shard1"  # seed 0 trains, seed 1 tests
        assert {i["file_name"].split("/")[0] for i in coco["images"]} == {shard}
        side_tracks = {a["track_id"] for a in coco["annotations"] if "track_id" in a}
        assert not side_tracks & tracks
        tracks |= side_tracks
    data = yaml.safe_load((results / "yolo/detect/data.yaml").read_text())
    assert data["train"] == ["../shard0/detect/images/train"]
    assert data["val"] == data["test"] == ["../shard1/detect/images/test"]

    calls = tmp_path / "calls.jsonl"
    env = {"EI_TEST_KEY": "ei_secret_key", "FAKE_EI_CALLS": str(calls)}
    project.snakemake("upload_to_edge_impulse", env=env)
    categories = {json.loads(line)["category"] for line in calls.read_text().splitlines()}
    assert categories == {"training", "testing"}
    record = json.loads((results / "uploads/edge_impulse.json").read_text())
    assert sorted(record["shards"]) == ["shard0", "shard1"]
