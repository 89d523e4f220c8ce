"""Cut the videos of one batch into JPEG frames named 00000.jpg, 00001.jpg, ...

SAM 2's video loader sorts frames by the integer in their file names, so names are
zero-padded and consecutive from 0. Frames are picked by exact frame number, so the
manifest can say which source frame each file is.
"""

import math
import shutil
from pathlib import Path

from ..core import manifest, media
from ..core.atomic import staged_dir
from ..core.records import read_manifest, write_manifest


def frame_indices(source_frames, source_fps, fps):
    """Source frame numbers to keep when resampling `source_fps` to `fps`."""
    step = source_fps / fps
    if step <= 1:
        return list(range(source_frames))
    count = math.ceil(source_frames / step)
    return sorted({min(source_frames - 1, round(k * step)) for k in range(count)})


def cut_video(entry, out_dir, fps):
    """Extract one video's frames; returns its manifest entry."""
    result = {"id": entry["id"], "video": entry["path"], "frames_dir": str(out_dir)}
    indices = frame_indices(entry["frames_expected"], entry["fps"], fps)
    try:
        written = media.extract_frames(entry["path"], out_dir, indices)
    except RuntimeError as error:
        shutil.rmtree(out_dir, ignore_errors=True)
        return {**result, "status": manifest.FAILED, "reason": f"ffmpeg could not decode: {error}"}
    if written == 0:
        shutil.rmtree(out_dir, ignore_errors=True)
        return {**result, "status": manifest.FAILED, "reason": "no frame could be decoded"}
    frames = [{"file": f"{i:05d}.jpg", "source_index": s} for i, s in enumerate(indices[:written])]
    result.update(status=manifest.MADE, fps=fps, frames=frames)
    if written < len(indices):
        result["warning"] = (
            f"video is shorter than expected: {written} of {len(indices)} frames written"
        )
    if "ground_truth_frames" in entry:
        truth = entry["ground_truth_frames"]
        result["ground_truth"] = [truth[f["source_index"]] for f in frames]
    return result


def cut_batch(video_manifest_path, frames_dir, manifest_path, dataset, seed, fps):
    videos = read_manifest(video_manifest_path, needs=("generator",))
    with staged_dir(frames_dir) as stage:
        entries = [
            cut_video(entry, stage / entry["id"], fps) for entry in manifest.made_items(videos)
        ]
    for entry in entries:
        entry["frames_dir"] = str(Path(frames_dir) / entry["id"])
    result = manifest.build("frames", dataset, seed, videos["generator"], entries)
    write_manifest(manifest_path, result)
    return result
