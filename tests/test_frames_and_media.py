import numpy as np
import pytest
from PIL import Image

from synthdet.core import manifest, media
from synthdet.core.atomic import read_json, write_json
from synthdet.generate import frames, procedural


def test_frame_indices_resample_exactly():
    assert frames.frame_indices(93, 16, 4) == list(range(0, 93, 4))
    assert frames.frame_indices(61, 10, 4) == [
        0,
        2,
        5,
        8,
        10,
        12,
        15,
        18,
        20,
        22,
        25,
        28,
        30,
        32,
        35,
        38,
        40,
        42,
        45,
        48,
        50,
        52,
        55,
        58,
        60,
    ]
    assert frames.frame_indices(5, 16, 32) == [0, 1, 2, 3, 4]


def test_select_expression_contains_only_integers():
    assert media.select_expression([0, 4]) == r"select=eq(n\,0)+eq(n\,4)"


def make_video(path, count=9, fps=16):
    scene = procedural.compose_scene("pvid", 0, "a soda can", {"can": ["soda can"]}, 64, 48)
    pictures = [np.asarray(procedural.render(scene, i)[0]) for i in range(count)]
    media.encode_video(pictures, path, fps, 64, 48)
    return scene


def test_extract_frames_names_them_from_zero(tmp_path):
    make_video(tmp_path / "v.mp4")
    written = media.extract_frames(tmp_path / "v.mp4", tmp_path / "out", [0, 4, 8])
    assert written == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "00000.jpg",
        "00001.jpg",
        "00002.jpg",
    ]
    with Image.open(tmp_path / "out" / "00002.jpg") as image:
        assert image.size == (64, 48)


def video_manifest(tmp_path, entries):
    path = tmp_path / "videos.json"
    write_json(path, manifest.build("video2world", "d", 0, "procedural", entries))
    return path


@pytest.mark.fault("media: short video and undecodable mp4 in one batch")
def test_cut_batch_records_frames_truth_short_and_broken_videos(tmp_path):
    make_video(tmp_path / "good.mp4", count=9)
    make_video(tmp_path / "short.mp4", count=3)
    (tmp_path / "broken.mp4").write_bytes(b"\0\0\0\x18ftypmp42garbage")
    truth = [[{"class": "can", "box": [i, 0, i + 5, 5], "track": 0}] for i in range(9)]
    entries = [
        {
            "id": "good",
            "status": "made",
            "path": str(tmp_path / "good.mp4"),
            "fps": 16,
            "frames_expected": 9,
            "ground_truth_frames": truth,
        },
        {
            "id": "short",
            "status": "made",
            "path": str(tmp_path / "short.mp4"),
            "fps": 16,
            "frames_expected": 9,
        },
        {
            "id": "broken",
            "status": "made",
            "path": str(tmp_path / "broken.mp4"),
            "fps": 16,
            "frames_expected": 9,
        },
        {"id": "gone", "status": "blocked", "path": str(tmp_path / "gone.mp4"), "reason": "x"},
    ]
    result = frames.cut_batch(
        video_manifest(tmp_path, entries), tmp_path / "frames", tmp_path / "frames.json", "d", 0, 4
    )
    assert result == read_json(tmp_path / "frames.json")
    by_id = {e["id"]: e for e in result["items"]}
    assert set(by_id) == {"good", "short", "broken"}
    assert [f["source_index"] for f in by_id["good"]["frames"]] == [0, 4, 8]
    assert by_id["good"]["ground_truth"] == [truth[0], truth[4], truth[8]]
    assert by_id["short"]["status"] == "made" and len(by_id["short"]["frames"]) == 1
    assert "shorter than expected: 1 of 3" in by_id["short"]["warning"]
    assert (
        by_id["broken"]["status"] == "failed"
        and "ffmpeg could not decode" in by_id["broken"]["reason"]
    )
    assert not (tmp_path / "frames" / "broken").exists()
    assert result["counts"] == {"made": 2, "blocked": 0, "failed": 1}
    assert (tmp_path / "frames" / "good" / "00002.jpg").is_file()
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.fault("media: truncated JPEG, zero-byte image and mp4, non-MP4 file")
def test_image_and_video_problems(tmp_path):
    Image.new("RGB", (32, 32), "red").save(tmp_path / "ok.jpg")
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "zero.jpg").write_bytes(b"")
    assert media.image_problem(tmp_path / "ok.jpg") is None
    assert "not a decodable image" in media.image_problem(tmp_path / "cut.jpg")
    assert media.image_problem(tmp_path / "zero.jpg") == "empty file"
    assert media.image_problem(tmp_path / "none.jpg") == "missing"
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_bytes(b"hello world, not a video")
    assert media.video_problem(tmp_path / "zero.mp4") == "empty file"
    assert "no ftyp box" in media.video_problem(tmp_path / "text.mp4")


@pytest.mark.fault("media: grayscale and RGBA PNG, palette GIF reach the models as RGB")
def test_images_of_any_mode_decode_to_rgb(tmp_path):
    from synthdet.label.prefetch import decode_rgb

    for mode, fmt in [("L", "PNG"), ("RGBA", "PNG"), ("P", "GIF"), ("I;16", "PNG")]:
        path = tmp_path / f"x_{mode.replace(';', '')}.{fmt.lower()}"
        Image.new(mode, (9, 7)).save(path, fmt)
        array, problem = decode_rgb(path)
        assert problem is None and array.shape == (7, 9, 3) and array.dtype == np.uint8


@pytest.mark.fault("media: GIF, PNG or other image data under a .jpg name")
def test_images_decode_only_as_the_format_their_extension_promises(tmp_path):
    from synthdet.label.prefetch import decode_rgb

    picture = Image.new("RGB", (9, 7), "red")
    for name, fmt in [
        ("gif.jpg", "GIF"),
        ("png.jpg", "PNG"),
        ("jpeg.png", "JPEG"),
        ("bmp.png", "BMP"),
    ]:
        picture.save(tmp_path / name, fmt)
        assert "not a decodable image" in media.image_problem(tmp_path / name), name
        array, problem = decode_rgb(tmp_path / name)
        assert array is None and problem.startswith("unreadable image"), name
    picture.save(tmp_path / "image.txt", "JPEG")
    assert ".txt is not an image extension" in media.image_problem(tmp_path / "image.txt")
    for name, fmt in [("ok.jpg", "JPEG"), ("ok.JPEG", "JPEG"), ("ok.png", "PNG")]:
        picture.save(tmp_path / name, fmt)
        assert media.image_problem(tmp_path / name) is None
        assert decode_rgb(tmp_path / name)[0].shape == (7, 9, 3)


@pytest.mark.fault("media: a manifest path that names an ffmpeg protocol or a concat list")
def test_ffmpeg_reads_a_video_path_only_as_one_mp4_file(tmp_path, monkeypatch):
    make_video(tmp_path / "good.mp4")
    listing = tmp_path / "list.mp4"  # ffmpeg's concat demuxer would follow it to good.mp4
    listing.write_text(f"ffconcat version 1.0\nfile '{tmp_path / 'good.mp4'}'\n")
    monkeypatch.chdir(tmp_path)
    for path in [f"concat:{tmp_path / 'good.mp4'}|{tmp_path / 'good.mp4'}", "list.mp4"]:
        entry = {"id": "v", "path": path, "fps": 16, "frames_expected": 9}
        result = frames.cut_video(entry, tmp_path / "out", 4)
        assert result["status"] == "failed", path
        assert not (tmp_path / "out").exists()
    # A real file whose name starts with '-' and holds ':' is still read, as a file.
    (tmp_path / "-i:x.mp4").write_bytes((tmp_path / "good.mp4").read_bytes())
    entry = {"id": "v", "path": "-i:x.mp4", "fps": 16, "frames_expected": 9}
    assert frames.cut_video(entry, tmp_path / "out", 4)["status"] == "made"
