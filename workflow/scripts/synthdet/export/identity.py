"""Dataset-wide ids of videos and tracks, the same in every export and on both sides.

The labels number tracks per video (track 0 of two videos are two objects), and a video
is its seed and prompt id (every seed animates the same prompts anew). The exports need
ids that identify one video and one object across the whole dataset: videos and tracks
are numbered from 1 in the order of (seed, prompt id[, per-video track]) over every
labeled item, before the split and before empty items are left out, so a setting of the
exports never renumbers them.
"""

from pathlib import Path


def video_key(item):
    return item["seed"], item["video"]


def video_name(item):
    """The video's name in the exports: `seed<S>_<prompt id>`, its frames' name prefix."""
    return f"seed{item['seed']}_{item['video']}"


def frame_id(item):
    """The frame's 0-based position among its video's extracted frames (`00003.jpg` is 3),
    as TAO and YouTube-VIS number frames."""
    stem = Path(item["image"]).stem
    if not stem.isdigit():
        raise ValueError(f"frame {item['id']}: image {item['image']} is not named <index>.jpg")
    return int(stem)


def video_frames(items):
    return [item for item in items if item["kind"] == "frame"]


def video_ids(items):
    """{(seed, prompt id): id from 1} for every video with a labeled frame."""
    keys = sorted({video_key(item) for item in video_frames(items)})
    return {key: number for number, key in enumerate(keys, start=1)}


def track_ids(items):
    """{(seed, prompt id, per-video track): id from 1} for every tracked object."""
    keys = sorted(
        {
            (*video_key(item), obj["track"])
            for item in video_frames(items)
            for obj in item["objects"]
        }
    )
    return {key: number for number, key in enumerate(keys, start=1)}


def object_track_id(item, obj, tracks):
    return tracks[(*video_key(item), obj["track"])]
