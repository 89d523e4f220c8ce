"""Labeling videos (as extracted frames): the detector every `detect_every` frames, SAM 2's
video predictor between (or, for procedural datasets that ask for it, the stand-in of
stand_in_tracking.py), and tracking.py deciding ids and where each track ends."""

import logging
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..core import rle
from ..core.media import open_image
from . import tracking
from .image_labeling import boxes_and_masks
from .job_io import Stopwatch, skip, write_candidates
from .mask_runs import column_major_runs, mask_records, rounded
from .precision import sam2_autocast
from .prefetch import decode_rgb
from .stand_in_tracking import NAME as STAND_IN
from .stand_in_tracking import ProceduralStandInPropagator

log = logging.getLogger(__name__)


class Sam2Propagator:
    """SAM 2's video predictor over one folder of frames (00000.jpg, ...): each call
    resets it, adds each seed with add_new_mask and runs propagate_in_video. Masks go
    in and come out as RLE records, so a long video never holds dense masks for every
    track and frame."""

    def __init__(self, models, frames_dir, height, width):
        self.models, self.height, self.width = models, height, width
        with torch.inference_mode(), sam2_autocast(models.device):
            self.state = models.sam2.init_state(
                video_path=str(frames_dir), offload_video_to_cpu=True, offload_state_to_cpu=True
            )

    @torch.inference_mode()
    def __call__(self, start, seeds, count, reverse):
        sam2, state = self.models.sam2, self.state
        with sam2_autocast(self.models.device):
            sam2.reset_state(state)
            for track_id, record in seeds.items():
                mask = rle.decode(record["mask"])
                sam2.add_new_mask(state, frame_idx=start, obj_id=int(track_id), mask=mask)
            result = {}
            for frame, ids, logits in sam2.propagate_in_video(
                state, start_frame_idx=start, max_frame_num_to_track=count, reverse=reverse
            ):
                records = mask_records(column_major_runs(logits[:, 0] > 0), self.height, self.width)
                result[frame] = {int(i): records[n] for n, i in enumerate(ids)}
        return result


def record_iou(records_a, records_b):
    return rle.iou_matrix([r["mask"] for r in records_a], [r["mask"] for r in records_b])


def unreadable_frame(frames_dir, frames):
    """Why a video's frames cannot all be read (SAM 2 loads every one), or None."""
    for frame in frames:
        _, problem = decode_rgb(Path(frames_dir) / frame["file"])
        if problem:
            return f"frame {frame['file']}: {problem}"
    return None


def video_propagator(models, entry, stand_in):
    """SAM 2's video predictor, or the procedural stand-in (config labeling.video.propagator)."""
    if stand_in:
        where = f"frames manifest of video {entry['id']} (seed {entry['seed']})"
        return ProceduralStandInPropagator(entry.get("ground_truth"), len(entry["frames"]), where)
    return Sam2Propagator(models, entry["frames_dir"], entry["height"], entry["width"])


def video_tracks(models, entry, settings, watch):
    """The tracks of one video; `settings`: a LabelSettings with its tracking."""
    candidates, video = settings.candidates, settings.tracking
    frames_dir = Path(entry["frames_dir"])
    files = [frame["file"] for frame in entry["frames"]]
    height, width = entry["height"], entry["width"]

    def detect_frame(index):
        image, _ = decode_rgb(frames_dir / files[index])
        _, scores, runs, _ = boxes_and_masks(models, image, candidates, watch)
        records = mask_records(runs, height, width)
        return [(rounded(s, 4), r) for s, r in zip(scores, records) if r["area"] > 0]

    stand_in = video.propagator == STAND_IN
    with watch("stand-in video" if stand_in else "sam2 video"):
        propagate = video_propagator(models, entry, stand_in)
        tracks = tracking.track_video(
            len(files),
            detect_frame,
            propagate,
            video.detect_every,
            video.match_iou,
            video.reverse,
            video.max_missed,
            video.duplicate_iou,
            video.switch_iou,
            iou=record_iou,
            present=lambda record: record["area"] > 0,
        )
    return [
        {
            "track": track_id,
            "scores": track["scores"],
            "detected_at": track["detected_at"],
            "windows": track["windows"],
            "masks": {str(f): m for f, m in sorted(track["masks"].items())},
        }
        for track_id, track in sorted(tracks.items())
    ]


def label_videos(videos, out_path, settings, models, progress):
    """The made videos (as frames) of a job's seed batches (job_io.made_with_seed)
    -> one candidates file. `settings`: a LabelSettings with its tracking."""
    watch, items, skipped = Stopwatch(), [], []
    if settings.tracking.propagator == STAND_IN:
        log.warning(
            "video propagator: the procedural STAND-IN, not SAM 2 - masks move with the "
            "generator's known motion between keyframes (a test and demo aid, not a tracker)"
        )
    start = time.perf_counter()
    for entry in tqdm(videos, file=progress, mininterval=5):
        problem = unreadable_frame(entry["frames_dir"], entry["frames"])
        if problem:
            skip(skipped, entry["id"], entry["frames_dir"], problem)
            continue
        with open_image(Path(entry["frames_dir"]) / entry["frames"][0]["file"]) as first:
            width, height = first.size
        entry = {**entry, "width": width, "height": height}
        tracks = video_tracks(models, entry, settings, watch)
        items.append(
            {
                "id": entry["id"],
                "seed": entry["seed"],
                "frames_dir": entry["frames_dir"],
                "frames": entry["frames"],
                "width": width,
                "height": height,
                "max_missed": settings.tracking.max_missed,
                "tracks": tracks,
            }
        )
    return write_candidates("videos", out_path, models, items, skipped, len(videos), start, watch)
