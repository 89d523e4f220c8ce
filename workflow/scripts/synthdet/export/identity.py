"""Dataset-wide ids of videos and tracks, the same in every export and on both sides.

The labels number tracks per video (track 0 of two videos are two objects), and a video
is its seed and prompt id (every seed animates the same prompts anew). The exports need
ids that identify one video and one object across the whole dataset: videos and tracks
are numbered from 1 in the order of (seed, prompt id[, per-video track]) over every
labeled item, before the split and before empty items are left out, so a setting of the
exports never renumbers them.

A dataset exported in shards (`exports.shard_parts`) numbers each shard on its own, from
shard * SHARD_ID_STRIDE + 1: unique in the dataset and stable as seeds are added, and no
job reads another shard's labels. Shard 0 (every unsharded dataset) numbers from 1.
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


# Ids a shard may use: kept well under 2**31 for 2,000 shards (readers that hold MOT track
# ids in int32), far more than a shard of at most about 10,000 items has tracks.
SHARD_ID_STRIDE = 1_000_000


def numbered(keys, what, shard):
    """{key: id} in sorted key order, from shard * SHARD_ID_STRIDE + 1."""
    keys = sorted(keys)
    if len(keys) >= SHARD_ID_STRIDE:
        raise ValueError(
            f"export shard {shard} holds {len(keys)} {what}, more than the {SHARD_ID_STRIDE - 1} "
            "ids of a shard: set a smaller exports.shard_parts"
        )
    first = int(shard) * SHARD_ID_STRIDE + 1
    return {key: number for number, key in enumerate(keys, start=first)}


def video_ids(items, shard=0):
    """{(seed, prompt id): id} for every video with a labeled frame."""
    return numbered({video_key(item) for item in video_frames(items)}, "videos", shard)


def track_ids(items, shard=0):
    """{(seed, prompt id, per-video track): id} for every tracked object."""
    keys = {
        (*video_key(item), obj["track"]) for item in video_frames(items) for obj in item["objects"]
    }
    return numbered(keys, "tracks", shard)


def object_track_id(item, obj, tracks):
    return tracks[(*video_key(item), obj["track"])]
