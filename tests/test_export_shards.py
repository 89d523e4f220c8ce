"""Exports by shard (exports.shard_parts): the plan, dataset-wide ids without a
dataset-wide job, and the streamed COCO merge. The shards opened with the real readers:
tests/test_export_readers.py."""

import json

import pytest

from conftest import DEMO_TEMPLATE, small_dataset, write_yaml
from synthdet.core.atomic import write_json
from synthdet.export import coco_format, coco_merge, identity
from synthdet.setup import plan
from synthdet.setup.config import checked_config
from support.exports import SPLIT


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "config" / "prompts" / "small.yaml", DEMO_TEMPLATE)

    def checked(seeds, shard_parts):
        labeling = {"smoke_models": True, "batches_per_job": 2}
        exports = {} if shard_parts == "default" else {"shard_parts": shard_parts}
        ds = small_dataset(seeds=seeds, labeling=labeling, exports=exports)
        config, _ = checked_config({"datasets": {"d": ds}}, "c.yaml")
        return config["datasets"]["d"]

    return checked


@pytest.mark.parametrize("shard_parts", ["default", None, 3, 10])
def test_a_dataset_in_one_shard_keeps_one_folder_per_format(dataset, shard_parts):
    ds = dataset(6, shard_parts)  # 3 parts
    assert plan.export_shards(ds) == []
    assert plan.export_outputs("d", ds) == {
        export: f"results/d/{export}" for export in ("voc", "edge_impulse", "coco", "mot", "yolo")
    }
    assert plan.edge_impulse_folders("d", ds) == ["results/d/edge_impulse"]


def test_shards_hold_whole_parts_and_join_in_coco_and_yolo(dataset):
    ds = dataset(10, 2)  # parts 0..4: shards 0, 1, 2
    assert plan.export_shards(ds) == [0, 1, 2]
    assert plan.shard_labels("d", ds, "1") == [
        "results/d/labels/part2.json",
        "results/d/labels/part3.json",
    ]
    assert plan.shard_labels("d", ds, 2) == ["results/d/labels/part4.json"]
    outputs = plan.export_outputs("d", ds)
    assert outputs["voc"] == [f"results/d/voc/shard{s}" for s in range(3)]
    assert outputs["coco"] == [
        "results/d/coco/annotations/instances_train.json",
        "results/d/coco/annotations/instances_test.json",
    ]
    assert outputs["yolo"] == [
        "results/d/yolo/detect/data.yaml",
        "results/d/yolo/segment/data.yaml",
    ]
    assert plan.edge_impulse_folders("d", ds) == [
        f"results/d/edge_impulse/shard{s}" for s in range(3)
    ]


def test_adding_seeds_keeps_every_part_in_its_shard(dataset):
    before, after = dataset(10, 2), dataset(30, 2)
    for shard in plan.export_shards(before)[:-1]:
        assert plan.shard_labels("d", before, shard) == plan.shard_labels("d", after, shard)


def frame(seed, video, index, tracks):
    objects = [{"class": "can", "score": 0.9, "box": [0, 0, 2, 2], "track": t} for t in tracks]
    image = f"frames/seed{seed}/{video}/{index:05d}.jpg"
    return {"kind": "frame", "seed": seed, "video": video, "image": image, "objects": objects}


def test_shard_zero_numbers_as_an_unsharded_export_and_others_from_their_stride():
    items = [frame(0, "pb", 0, [0, 1]), frame(0, "pa", 0, [3]), frame(1, "pa", 0, [0])]
    assert identity.video_ids(items) == {(0, "pa"): 1, (0, "pb"): 2, (1, "pa"): 3}
    assert identity.track_ids(items, 0) == {
        (0, "pa", 3): 1,
        (0, "pb", 0): 2,
        (0, "pb", 1): 3,
        (1, "pa", 0): 4,
    }
    stride = identity.SHARD_ID_STRIDE
    assert identity.video_ids(items, 2) == {
        (0, "pa"): 2 * stride + 1,
        (0, "pb"): 2 * stride + 2,
        (1, "pa"): 2 * stride + 3,
    }
    assert min(identity.track_ids(items, "3").values()) == 3 * stride + 1


def test_a_shard_with_more_tracks_than_its_ids_names_the_setting(monkeypatch):
    monkeypatch.setattr(identity, "SHARD_ID_STRIDE", 3)
    items = [frame(0, "pa", 0, [0, 1, 2])]
    with pytest.raises(ValueError, match=r"export shard 1 holds 3 tracks.*exports.shard_parts"):
        identity.track_ids(items, 1)


def shard_labels(videos, tmp_path):
    data = json.loads(videos.read_text())
    paths = []
    for seed in (0, 1):
        path = tmp_path / f"labels{seed}.json"
        write_json(path, {**data, "items": [i for i in data["items"] if i["seed"] == seed]})
        paths.append(path)
    return paths


def test_the_merged_coco_file_holds_every_shard_with_unique_ids(videos, tmp_path):
    split = {"test_fraction": 0, "seed": 0}  # both seeds on the train side
    folders = []
    for index, labels in enumerate(shard_labels(videos, tmp_path)):
        folders.append(tmp_path / "coco" / f"shard{index}")
        coco_format.export_coco([labels], folders[-1], "d", "skip", split, index)
    target = tmp_path / "coco" / "annotations" / "instances_train.json"
    counts = coco_merge.merge_side(folders, "train", target, "d (train)")
    merged = json.loads(target.read_text())
    shards = [json.loads((f / "annotations" / "instances_train.json").read_text()) for f in folders]
    assert counts == {s: sum(len(c[s]) for c in shards) for s in coco_merge.SECTIONS}
    assert [a["id"] for a in merged["annotations"]] == list(range(1, counts["annotations"] + 1))
    assert len({v["id"] for v in merged["videos"]}) == counts["videos"] == 2
    assert len({i["id"] for i in merged["images"]}) == counts["images"]
    assert all((tmp_path / "coco" / i["file_name"]).is_file() for i in merged["images"])
    assert merged["categories"] == shards[0]["categories"]
    assert merged["info"]["description"] == "d (train)"
    assert not list(target.parent.glob(".*"))  # no scratch file left behind


def test_shards_with_different_classes_are_refused_by_file(videos, tmp_path):
    folders = []
    for index, labels in enumerate(shard_labels(videos, tmp_path)):
        folders.append(tmp_path / "coco" / f"shard{index}")
        coco_format.export_coco([labels], folders[-1], "d", "skip", SPLIT, index)
    second = folders[1] / "annotations" / "instances_test.json"
    coco = json.loads(second.read_text())
    write_json(second, {**coco, "categories": [{"id": 1, "name": "other"}]})
    target = tmp_path / "coco" / "annotations" / "instances_test.json"
    with pytest.raises(ValueError, match=f"{second}: its categories differ"):
        coco_merge.merge_side(folders, "test", target, "d (test)")
    assert not target.exists() and not list(target.parent.glob(".*"))
