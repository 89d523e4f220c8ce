"""Annotated tracking videos for QA, as Grounded-SAM-2's tracking demo writes them: every
labeled frame of a video with its tracked masks, boxes, class names and track ids drawn,
encoded as one MP4 per video that a browser plays.

A track keeps one colour through the video (colours follow track ids, not classes), so an
identity switch shows as a change of colour.
"""

from collections import defaultdict

import numpy as np

from ..core import media
from ..core.atomic import staged_dir
from ..core.records import read_labels
from ..core.palette import PALETTE
from .qa import overlay


def video_name(seed, video):
    """The video's file name, in the exports' naming: seed<S>_<prompt id>.mp4."""
    return f"seed{seed}_{video}.mp4"


def labeled_videos(items):
    """Frame items grouped per video, each video's frames in source order."""
    videos = defaultdict(list)
    for item in items:
        if item["kind"] == "frame":
            videos[(item["seed"], item["video"])].append(item)
    return {
        key: sorted(frames, key=lambda f: f["source_index"])
        for key, frames in sorted(videos.items())
    }


def track_colour(obj):
    return PALETTE[obj["track"] % len(PALETTE)]


def even(size):
    """H.264 in yuv420p needs even sides: pad by one pixel where needed."""
    return size + size % 2


def annotated_frames(frames, classes):
    """Yield each frame with its objects drawn, as an RGB array of even width and height."""
    for item in frames:
        drawn = np.asarray(overlay(item, classes, track_colour))
        padded = np.zeros((even(drawn.shape[0]), even(drawn.shape[1]), 3), dtype=np.uint8)
        padded[: drawn.shape[0], : drawn.shape[1]] = drawn
        yield padded


def write_videos(labels_path, out_dir, fps):
    """One annotated MP4 per labeled video of a labeling part; returns the file names.

    `fps` is the rate frames were cut at, so the video plays at the source's speed.
    """
    labels = read_labels(labels_path)
    codec = media.browser_codec()
    written = []
    with staged_dir(out_dir) as stage:
        for (seed, video), frames in labeled_videos(labels["items"]).items():
            width, height = even(frames[0]["width"]), even(frames[0]["height"])
            name = video_name(seed, video)
            frames_drawn = annotated_frames(frames, labels["classes"])
            media.encode_video(frames_drawn, stage / name, fps, width, height, codec)
            written.append(name)
    return written
