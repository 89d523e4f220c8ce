"""core/records: one reader and one writer per file stages hand each other."""

import json

import pytest

from synthdet.core import manifest, records
from synthdet.core.atomic import write_json
from synthdet.export import naming
from synthdet.generate import frames
from synthdet.label import job_io, label_filter
from synthdet.setup.config import default_thresholds

MASK = {"size": [4, 6], "counts": "0;0"}


def a_manifest():
    item = {"id": "p0123456789ab", "prompt": "a can", "path": "images/seed0/a.jpg"}
    item.update(status=manifest.MADE, width=6, height=4)
    blocked = {"id": "p1", "prompt": "a café", "path": "b.jpg", "status": manifest.BLOCKED}
    return manifest.build("text2image", "demo", 0, "procedural", [item, {**blocked}])


def some_candidates():
    candidate = {"box": [0.5, 1, 3, 4], "scores": [0.9, 0.1], "mask": MASK}
    candidate.update(mask_box=[0, 1, 3, 4], mask_area=9, mask_score=0.88)
    item = {"id": "p0123456789ab", "seed": 0, "image": "a.jpg", "width": 6, "height": 4}
    skipped = [{"id": "p1", "path": "b.jpg", "reason": "cannot decode"}]
    return {
        "kind": "images",
        "classes": ["can", "bottle"],
        "items": [{**item, "candidates": [candidate]}],
        "skipped": skipped,
    }


def some_labels():
    obj = {"class": "can", "score": 0.9, "box": [0, 1, 3, 4], "mask": MASK}
    item = {"id": "p0123456789ab", "kind": "image", "seed": 0, "image": "a.jpg"}
    item.update(width=6, height=4, objects=[obj])
    return {
        "dataset": "demo",
        "part": 0,
        "classes": ["can", "bottle"],
        "thresholds": default_thresholds(),
        "objects": 1,
        "items": [item],
        "skipped": [],
    }


KINDS = {
    "manifest": (records.write_manifest, records.read_manifest, a_manifest, False),
    "candidates": (records.write_candidates, records.read_candidates, some_candidates, True),
    "labels": (records.write_labels, records.read_labels, some_labels, True),
}
NEEDS = {
    "manifest": records.MANIFEST_NEEDS,
    "candidates": records.CANDIDATES_NEEDS,
    "labels": records.LABELS_NEEDS,
}


@pytest.mark.parametrize("kind", KINDS)
def test_writer_then_reader_gives_the_same_dict_and_write_json_bytes(tmp_path, kind):
    write, read, sample, compact = KINDS[kind]
    data = sample()
    write(tmp_path / "r.json", data)
    assert read(tmp_path / "r.json") == data
    # Byte for byte what the writing sites wrote before records.py existed.
    write_json(tmp_path / "old.json", data, compact=compact)
    assert (tmp_path / "r.json").read_bytes() == (tmp_path / "old.json").read_bytes()


@pytest.mark.parametrize("kind,key", [(kind, key) for kind, keys in NEEDS.items() for key in keys])
def test_each_reader_names_the_file_and_the_missing_key(tmp_path, kind, key):
    _, read, sample, _ = KINDS[kind]
    data = sample()
    del data[key]
    path = tmp_path / f"old-{kind}.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"old-{kind}\.json: .*without '{key}'"):
        read(path)


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_the_caller_needs_is_checked_too(tmp_path, kind):
    _, read, sample, _ = KINDS[kind]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(sample()))
    with pytest.raises(ValueError, match=r"r\.json: .*without 'not_there'"):
        read(path, needs=("not_there",))


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_that_is_not_an_object_is_refused(tmp_path, kind):
    _, read, _, _ = KINDS[kind]
    path = tmp_path / "list.json"
    path.write_text("[]")
    with pytest.raises(ValueError, match=r"list\.json: not a"):
        read(path)


def test_the_types_hold_the_keys_the_writers_write(tmp_path):
    assert set(records.Manifest.__annotations__) == set(a_manifest())
    empty = job_io.nothing_to_label("images", tmp_path / "c.json", ["can"])
    assert set(records.Candidates.__annotations__) == set(empty)
    labels = label_filter.filter_part(
        {"images": str(tmp_path / "c.json")}, tmp_path / "l.json", default_thresholds(), "d", 0
    )
    assert set(records.Labels.__annotations__) == set(labels)
    assert set(records.LabeledObject.__annotations__) >= set(
        some_labels()["items"][0]["objects"][0]
    )
    assert set(records.ImageItem.__annotations__) == set(some_candidates()["items"][0])


# The stages read through records: an older file stops naming the file and the key.


def test_filtering_a_truncated_candidates_file_names_it(tmp_path):
    data = some_candidates()
    del data["skipped"]
    write_json(tmp_path / "cands.json", data, compact=True)
    with pytest.raises(ValueError, match=r"cands\.json: .*without 'skipped'"):
        label_filter.filter_part(
            {"images": str(tmp_path / "cands.json")}, tmp_path / "l.json", {}, "d", 0
        )


def test_labels_without_thresholds_name_the_file_when_exporting(tmp_path):
    data = some_labels()
    del data["thresholds"]
    write_json(tmp_path / "labels.json", data, compact=True)
    with pytest.raises(ValueError, match=r"labels\.json: .*without 'thresholds'"):
        naming.box_source([tmp_path / "labels.json"])


def test_labeling_a_manifest_without_its_seed_names_it(tmp_path):
    data = a_manifest()
    del data["seed"]
    write_json(tmp_path / "m.json", data)
    with pytest.raises(ValueError, match=r"m\.json: .*without 'seed'"):
        job_io.made_with_seed([tmp_path / "m.json"])


def test_cutting_frames_from_a_manifest_without_generator_names_it(tmp_path):
    data = a_manifest()
    del data["generator"]
    write_json(tmp_path / "videos.json", data)
    with pytest.raises(ValueError, match=r"videos\.json: .*without 'generator'"):
        frames.cut_batch(tmp_path / "videos.json", tmp_path / "f", tmp_path / "fm.json", "d", 0, 2)
