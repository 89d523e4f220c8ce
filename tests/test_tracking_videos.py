"""Annotated tracking videos: one browser-playable MP4 per labeled video."""

import subprocess

import numpy as np
import pytest
from PIL import Image

from synthdet.core import media, rle
from synthdet.core.atomic import write_json
from synthdet.core.palette import PALETTE
from synthdet.report import tracking_videos

W, H = 63, 47  # odd on purpose: H.264 in yuv420p needs even sides


def box_mask(box):
    mask = np.zeros((H, W), dtype=bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return rle.encode(mask)


def frame_item(folder, video, index, objects):
    path = folder / video / f"{index:05d}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (W, H), (128, 128, 128)).save(path, quality=95)
    return {
        "id": f"{video}/{index:05d}",
        "kind": "frame",
        "seed": 3,
        "video": video,
        "source_index": 4 * index,
        "image": str(path),
        "width": W,
        "height": H,
        "objects": objects,
    }


def tracked(track, box):
    return {"class": "can", "score": 0.9, "box": box, "mask": box_mask(box), "track": track}


@pytest.fixture
def labels(tmp_path):
    moving = [
        frame_item(tmp_path, "pa", i, [tracked(2, [4 + 6 * i, 10, 24 + 6 * i, 30])])
        for i in range(5)
    ]
    still = [
        frame_item(tmp_path, "pb", i, [] if i == 1 else [tracked(0, [30, 5, 50, 25])])
        for i in range(3)
    ]
    image = {
        "id": "pc",
        "kind": "image",
        "seed": 3,
        "image": str(moving[0]["image"]),
        "width": W,
        "height": H,
        "objects": [],
    }
    path = tmp_path / "labels.json"
    # Out of order on purpose: frames are put back in source order.
    write_json(path, {"classes": ["can"], "items": [image, *moving[::-1], *still], "skipped": []})
    return path


def decoded(path):
    """(codec name, frames as arrays) of an MP4, read back through ffmpeg."""
    probe = subprocess.run(
        [media.ffmpeg_executable(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr
    codec = probe.split("Video: ", 1)[1].split()[0]
    raw = subprocess.run(
        [
            media.ffmpeg_executable(),
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return codec, np.frombuffer(raw, np.uint8).reshape(-1, H + 1, W + 1, 3)


def test_one_playable_video_per_labeled_video_with_every_frame(labels, tmp_path):
    written = tracking_videos.write_videos(labels, tmp_path / "videos", fps=4)
    assert written == ["seed3_pa.mp4", "seed3_pb.mp4"]
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == written
    codec, frames = decoded(tmp_path / "videos" / "seed3_pa.mp4")
    assert codec in ("h264", "mpeg4") and len(frames) == 5
    if media.browser_codec()[1] in ("libx264", "libopenh264"):
        assert codec == "h264"
    # The track's mask is tinted in its own colour, and it moves as the labels say.
    colour = np.array(PALETTE[2 % len(PALETTE)], dtype=float)
    tinted = 128 * 0.55 + colour * 0.45
    for index, frame in enumerate(frames):
        centre = frame[20, 14 + 6 * index].astype(float)
        assert np.abs(centre - tinted).max() < 24, (index, centre, tinted)
        assert np.abs(frame[40, 58].astype(float) - 128).max() < 24  # untouched background


def test_frames_without_objects_stay_in_the_video(labels, tmp_path):
    tracking_videos.write_videos(labels, tmp_path / "videos", fps=4)
    _, frames = decoded(tmp_path / "videos" / "seed3_pb.mp4")
    assert len(frames) == 3
    assert np.abs(frames[1][15, 40].astype(float) - 128).max() < 24  # nothing drawn there


def test_a_part_without_videos_writes_an_empty_folder(tmp_path):
    write_json(tmp_path / "labels.json", {"classes": ["can"], "items": [], "skipped": []})
    assert tracking_videos.write_videos(tmp_path / "labels.json", tmp_path / "v", fps=4) == []
    assert list((tmp_path / "v").iterdir()) == []
