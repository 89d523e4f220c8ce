"""The opt-in upload to Edge Impulse, against a stand-in uploader (tests/fake_edge_impulse:
not Edge Impulse; it parses the folder with the real uploader's rules and prints its lines)."""

import io
import json
import shlex
import sys

import pytest
from PIL import Image

from conftest import ROOT
from synthdet.core.errors import ConfigError
from synthdet.export import edge_impulse

UPLOADER = [sys.executable, str(ROOT / "tests" / "fake_edge_impulse" / "edge-impulse-uploader")]
SITE = {"uploader": UPLOADER, "api_key_env": "EI_TEST_KEY"}
KEY = "ei_0123456789abcdef"


def voc(folder, name, boxes):
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), "grey").save(folder / f"{name}.jpg")
    objects = "".join(
        f"<object><name>can</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>"
        f"<ymax>{y2}</ymax></bndbox></object>"
        for x1, y1, x2, y2 in boxes
    )
    xml = f"<annotation><filename>{name}.jpg</filename>{objects}</annotation>"
    (folder / f"{name}.xml").write_text(xml)


@pytest.fixture
def export(tmp_path):
    # A dataset folder whose own path spells a split: the upload must not be fooled by it.
    folder = tmp_path / "contest" / "edge_impulse"
    voc(folder / "training", "seed0_pa", [(2, 3, 12, 13)])
    voc(folder / "training", "seed0_pb", [])
    voc(folder / "testing", "seed1_pc", [(0, 0, 40, 30)])
    return folder


def environ(tmp_path, **extra):
    return {
        "PATH": "/usr/bin:/bin",
        "EI_TEST_KEY": KEY,
        "FAKE_EI_CALLS": str(tmp_path / "calls.jsonl"),
        **extra,
    }


def test_each_split_lands_in_its_category_with_its_boxes(export, tmp_path):
    log = io.StringIO()
    record = edge_impulse.upload(export, SITE, environ(tmp_path), log)
    assert sorted(record["splits"]) == ["testing", "training"]
    assert record["splits"]["training"]["uploaded"] == [
        "training/seed0_pa.jpg",
        "training/seed0_pb.jpg",
    ]
    assert [s["path"] for s in record["splits"]["training"]["skipped"]] == ["training/seed0_pb.xml"]
    assert record["splits"]["testing"]["uploaded"] == ["testing/seed1_pc.jpg"]
    calls = {
        c["file"]: c for c in map(json.loads, (tmp_path / "calls.jsonl").read_text().splitlines())
    }
    assert {f: c["category"] for f, c in calls.items()} == {
        "training/seed0_pa.jpg": "training",
        "training/seed0_pb.jpg": "training",
        "testing/seed1_pc.jpg": "testing",
    }
    assert calls["training/seed0_pa.jpg"]["boxes"] == [
        {"label": "can", "x": 2, "y": 3, "width": 10, "height": 10}
    ]
    assert calls["training/seed0_pb.jpg"]["boxes"] == []  # uploaded unlabeled
    text = log.getvalue()
    assert KEY not in text and "--api-key ***" in text
    assert (
        "--dataset-format pascal-voc-xml-object-detection --directory training --category training"
        in text
    )


@pytest.mark.fault("Edge Impulse upload: an API key with quotes, spaces or $")
@pytest.mark.parametrize("key", ["ei_a'b", 'ei a"b', "ei_$HOME", "ei\\x 'y' $z"])
def test_a_key_with_quotes_spaces_or_dollars_never_reaches_the_log(export, tmp_path, key):
    log = io.StringIO()
    edge_impulse.upload(export, SITE, environ(tmp_path, EI_TEST_KEY=key), log)
    text = log.getvalue()
    assert text.count("--api-key ***\n") == 2  # one command line per split
    for form in (key, shlex.quote(key), json.dumps(key)):
        assert form not in text


def test_the_key_is_masked_in_the_uploaders_own_output_however_it_quotes_it():
    key = "ei'\"k"
    output = f"key {key} shell {shlex.quote(key)} json {json.dumps(key)}"
    assert edge_impulse.masked(output, key) == 'key *** shell *** json "***"'


@pytest.mark.fault("Edge Impulse upload: API key not set")
def test_a_missing_key_names_the_setting(export, tmp_path):
    with pytest.raises(
        ConfigError,
        match="edge_impulse.api_key_env: the environment variable EI_TEST_KEY is not set",
    ):
        edge_impulse.upload(export, SITE, {"PATH": "/usr/bin:/bin"}, io.StringIO())


@pytest.mark.fault("Edge Impulse upload: the uploader fails")
def test_a_failing_uploader_fails_with_its_output(export, tmp_path):
    with pytest.raises(
        edge_impulse.UploadError, match="exited with code 3(.|\n)*status code 401"
    ) as error:
        edge_impulse.upload(export, SITE, environ(tmp_path, FAKE_EI_EXIT="3"), io.StringIO())
    assert KEY not in str(error.value)


@pytest.mark.fault("Edge Impulse upload: a file rejected")
def test_a_rejected_file_fails_the_upload_naming_it(export, tmp_path):
    with pytest.raises(
        edge_impulse.UploadError,
        match=r"rejected 1 file\(s\):\n  testing/seed1_pc.jpg: Sample already exists",
    ):
        edge_impulse.upload(export, SITE, environ(tmp_path, FAKE_EI_REJECT="pc"), io.StringIO())


def test_a_folder_without_split_folders_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(edge_impulse.UploadError, match="has no training or testing folder"):
        edge_impulse.upload(tmp_path / "empty", SITE, environ(tmp_path), io.StringIO())


def test_uploader_lines_are_read_as_the_real_uploader_prints_them():
    text = (
        "Skipping file 'training/a.xml': Error: annotation.object is required\n"
        "[ 1/12] Uploading training/b.jpg OK (104 ms)\n"
        "[12/12] Failed to upload training/c.jpg Request failed with status code 400\n"
        "Done. Files uploaded successful: 1. Files that failed to upload: 1.\n"
    )
    assert edge_impulse.parse_output(text) == {
        "uploaded": ["training/b.jpg"],
        "skipped": [{"path": "training/a.xml", "reason": "Error: annotation.object is required"}],
        "rejected": [{"path": "training/c.jpg", "reason": "Request failed with status code 400"}],
    }


# Issue 16, finding 3: a class the XML could not hold made the uploader skip every XML and
# upload the images with no boxes, and the rule exited 0.
@pytest.mark.fault("Edge Impulse upload: an XML with objects skipped by the uploader")
def test_a_skipped_xml_that_holds_objects_fails_the_upload(export, tmp_path):
    broken = export / "training" / "seed0_pa.xml"
    broken.write_text(broken.read_text().replace(">can<", ">can\ufffe<"), encoding="utf-8")
    with pytest.raises(
        edge_impulse.UploadError,
        match=r"skipped 1 annotation file\(s\) that hold objects(.|\n)*\n  training/seed0_pa.xml: ",
    ):
        edge_impulse.upload(export, SITE, environ(tmp_path), io.StringIO())


def test_a_skipped_xml_without_objects_is_an_unlabeled_image(export, tmp_path):
    record = edge_impulse.upload(export, SITE, environ(tmp_path), io.StringIO())
    assert [s["path"] for s in record["splits"]["training"]["skipped"]] == ["training/seed0_pb.xml"]


def test_each_export_shard_uploads_with_its_split(tmp_path):
    folder = tmp_path / "edge_impulse"
    voc(folder / "shard0" / "training", "seed0_pa", [(2, 3, 12, 13)])
    voc(folder / "shard1" / "training", "seed4_pa", [(1, 1, 5, 5)])
    voc(folder / "shard1" / "testing", "seed5_pa", [(0, 0, 40, 30)])
    shards = [folder / "shard0", folder / "shard1"]
    record = edge_impulse.upload_all(shards, SITE, environ(tmp_path), io.StringIO())
    assert sorted(record["shards"]) == ["shard0", "shard1"]
    assert record["shards"]["shard1"]["splits"]["testing"]["uploaded"] == ["testing/seed5_pa.jpg"]
    calls = [json.loads(c) for c in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert sorted((c["file"], c["category"]) for c in calls) == [
        ("testing/seed5_pa.jpg", "testing"),
        ("training/seed0_pa.jpg", "training"),
        ("training/seed4_pa.jpg", "training"),
    ]


def test_an_unsharded_folder_uploads_as_before(export, tmp_path):
    record = edge_impulse.upload_all([export], SITE, environ(tmp_path), io.StringIO())
    assert sorted(record["splits"]) == ["testing", "training"] and "shards" not in record
