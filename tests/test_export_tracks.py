"""Track identity in the exports: dataset-wide video and track ids in COCO, and the
MOTChallenge-style sequences of the `mot` export."""

import configparser
import csv
import json

import pytest

from synthdet.core.atomic import write_json
from synthdet.export import coco_format, mot
from support.exports import SPLIT, H, W


def coco_tracks(written):
    """(video name, frame_id, class, bbox) -> track_id over both sides."""
    found = {}
    for coco in written.values():
        videos = {video["id"]: video["name"] for video in coco["videos"]}
        images = {image["id"]: image for image in coco["images"]}
        for annotation in coco["annotations"]:
            image = images[annotation["image_id"]]
            if "video_id" in image:
                key = (videos[image["video_id"]], image["frame_id"], tuple(annotation["bbox"]))
                found[key] = annotation["track_id"]
    return found


def test_coco_frames_name_their_video_and_tracks_are_unique_in_the_dataset(videos, tmp_path):
    written = coco_format.export_coco([videos], tmp_path / "coco", "d", "skip", SPLIT)
    train, test = written["train"], written["test"]
    assert train["videos"] == [{"id": 1, "name": "seed0_pv", "width": W, "height": H}]
    assert test["videos"] == [{"id": 2, "name": "seed1_pv", "width": W, "height": H}]
    frames = [image for image in train["images"] if "video_id" in image]
    assert [(i["video_id"], i["frame_id"], i["source_frame_index"]) for i in frames] == [
        (1, 0, 1),
        (1, 1, 5),
        (1, 2, 9),
    ]
    assert [(i["video_id"], i["frame_id"]) for i in test["images"]] == [(2, 0), (2, 2)]
    assert "video_id" not in train["images"][0]  # the still image
    # Track 0 of each video is another object: three ids, each on one object only.
    tracks = coco_tracks(written)
    by_video = {}
    for (video, _, _), track in tracks.items():
        by_video.setdefault(track, set()).add(video)
    assert sorted(by_video) == [1, 2, 3] and all(len(v) == 1 for v in by_video.values())
    can_a = {tracks[("seed0_pv", i, (10.0 + i, 10.0, 10.0, 10.0))] for i in range(3)}
    assert len(can_a) == 1  # one object keeps its id through its video
    assert not any("track_id" in a for a in train["annotations"] if a["image_id"] == 0)


def test_track_ids_do_not_depend_on_the_split_or_on_empty_images(videos, tmp_path):
    first = coco_format.export_coco([videos], tmp_path / "1", "d", "skip", SPLIT)
    other = {"test_fraction": 0.0, "seed": 0}  # everything on the train side
    again = coco_format.export_coco([videos], tmp_path / "2", "d", "unlabeled", other)
    assert coco_tracks(first) == coco_tracks(again)


def read_gt(path):
    return [list(row) for row in csv.reader(path.read_text().splitlines())]


def test_mot_sequences_as_motchallenge_and_datumaro_read_them(videos, tmp_path):
    counts = mot.export_mot([videos], tmp_path / "mot", "skip", SPLIT, 4)
    assert counts == {"train": 1, "test": 1, "objects": 8}
    seq = tmp_path / "mot/train/seed0_pv"
    assert sorted(p.name for p in (seq / "img1").iterdir()) == [
        "000001.jpg",
        "000002.jpg",
        "000003.jpg",
    ]
    info = configparser.ConfigParser()
    info.optionxform = str
    info.read(seq / "seqinfo.ini")
    assert dict(info["Sequence"]) == {
        "name": "seed0_pv",
        "imDir": "img1",
        "frameRate": "4",
        "seqLength": "3",
        "imWidth": str(W),
        "imHeight": str(H),
        "imExt": ".jpg",
    }
    assert (seq / "gt/labels.txt").read_text() == "can\nperson\n"
    rows = read_gt(seq / "gt/gt.txt")
    assert rows[:2] == [
        ["1", "1", "10", "10", "10", "10", "1", "1", "1"],
        ["1", "2", "40", "30", "10", "15.5", "1", "2", "1"],
    ]
    assert [row[:2] for row in rows] == [["1", "1"], ["1", "2"], ["2", "1"], ["2", "2"]] + [
        ["3", "1"],
        ["3", "2"],
    ]
    # The test video keeps its empty middle frame (a tracker needs the gap) and its own id.
    test_seq = tmp_path / "mot/test/seed1_pv"
    assert len(list((test_seq / "img1").iterdir())) == 3
    assert [row[:2] for row in read_gt(test_seq / "gt/gt.txt")] == [["1", "3"], ["3", "3"]]


def test_mot_ids_and_boxes_are_coco_s(videos, tmp_path):
    written = coco_format.export_coco([videos], tmp_path / "coco", "skip", "skip", SPLIT)
    mot.export_mot([videos], tmp_path / "mot", "skip", SPLIT, 4)
    from_coco = {
        (video, frame + 1, track, bbox)
        for (video, frame, bbox), track in coco_tracks(written).items()
    }
    from_mot = set()
    for gt in (tmp_path / "mot").glob("*/*/gt/gt.txt"):
        for row in read_gt(gt):
            box = tuple(float(v) for v in row[2:6])
            from_mot.add((gt.parts[-3], int(row[0]), int(row[1]), box))
    assert from_mot == from_coco


def test_mot_leaves_out_a_video_with_no_object_only_when_asked(videos, tmp_path):
    data = json.loads(videos.read_text())
    for item in data["items"]:
        if item["seed"] == 1:
            item["objects"] = []
    write_json(videos, data)
    assert mot.export_mot([videos], tmp_path / "a", "skip", SPLIT, 2.5)["test"] == 0
    assert mot.export_mot([videos], tmp_path / "b", "unlabeled", SPLIT, 2.5)["test"] == 1
    assert "frameRate=2.5\n" in (tmp_path / "b/test/seed1_pv/seqinfo.ini").read_text()
    assert (tmp_path / "b/test/seed1_pv/gt/gt.txt").read_text() == ""


def test_a_video_missing_a_frame_is_refused_by_name(videos, tmp_path):
    data = json.loads(videos.read_text())
    data["items"] = [i for i in data["items"] if not i["id"].endswith("pv/00001") or i["seed"]]
    write_json(videos, data)
    with pytest.raises(ValueError, match=r"video seed0_pv: the labels hold frames \[0, 2\]"):
        mot.export_mot([videos], tmp_path / "mot", "skip", SPLIT, 4)
