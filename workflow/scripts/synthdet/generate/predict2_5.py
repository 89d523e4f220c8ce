"""Launching NVIDIA Cosmos-Predict2.5 on one seed batch (`cosmos.release: predict2.5`).

Supported: the 2025-10-06 release (commit 50369b8), whose one command
`examples/inference.py PARAMS.json OUTPUT_DIR [--model M] [--disable-guardrails]
[--offload-guardrail-models]` reads a params file validated by `InferenceArguments`
(cosmos_predict2/config.py): one inference type, seed, guidance, resolution, frame count
and negative prompt for the file, and the samples keyed by name (here the prompt ids).
It writes OUTPUT_DIR/NAME.mp4, or NAME.jpg for a one-frame output, at 16 fps.

A guardrail block ends the whole process (`exit(1)` after a `Guardrail blocked` line), so
the samples after a blocked one are never made: the batch is run again without it,
skipping the samples already made, up to `cosmos.max_restarts` times. Each restart loads
the model again; the log says how long each run took.
"""

import logging
import re
import shutil
import subprocess
import time
from pathlib import Path

from ..core import manifest, media
from ..core.atomic import write_json
from ..core.errors import ConfigError
from ..setup.cosmos_release import release_problem
from . import cosmos

log = logging.getLogger("synthdet.predict2_5")

VIDEO_FPS = 16  # save_img_or_video(..., fps=16) in cosmos_predict2/inference.py
PROCESSING = re.compile(r"\[\d+/\d+\] Processing sample (\S+)\s*$")
BLOCK_LINE = "Guardrail blocked"
GUARDRAIL_LINE = "GUARDRAIL BLOCKED"
EXCERPT_CHARS = 300


def check_release(site):
    """Refuse a checkout of an unsupported release, naming the config key."""
    problem = release_problem(cosmos.checked_workdir(site))
    if problem:
        raise ConfigError("config", "cosmos.workdir", problem)


def params(inference_type, samples, job, num_output_frames):
    """The params file: exactly InferenceArguments' keys (it refuses any other)."""
    settings = job["settings"]
    data = {
        "inference_type": inference_type,
        "samples": samples,
        "seed": job["seed"],
        "guidance": settings["guidance"],
        "resolution": settings["resolution"],
        "num_output_frames": num_output_frames,
    }
    if job["negative_prompt"]:  # else Predict2.5's own default negative prompt
        data["negative_prompt"] = job["negative_prompt"]
    return data


def inference_command(site, settings, params_file, output_dir, gpus, stage):
    # Several GPUs: context parallelism splits one video's frames over them.
    command = cosmos.launcher(site, gpus) + [
        "examples/inference.py",
        str(params_file),
        str(output_dir),
        "--model",
        settings["model"],
    ]
    if settings["disable_guardrails"]:
        command.append("--disable-guardrails")
    if settings["offload_guardrail_models"]:
        command.append("--offload-guardrail-models")
    return command + list(site["extra_args"][stage])


def blocked_sample(log_text):
    """(name, excerpt) when the run's log ends its last sample with a guardrail block."""
    lines = log_text.splitlines()
    starts = [i for i, line in enumerate(lines) if PROCESSING.search(line)]
    if not starts:
        return None, ""
    name = PROCESSING.search(lines[starts[-1]]).group(1)
    after = lines[starts[-1] + 1 :]
    if not any(BLOCK_LINE in line for line in after):
        return None, ""
    said = [line.strip()[:EXCERPT_CHARS] for line in after if GUARDRAIL_LINE in line.upper()]
    return name, " | ".join(said)


def run_batch(samples, make_params, stage, job, log_path, stage_name, gpus):
    """Run the samples {name: sample} until each is made or blocked.

    Returns {name: (status, reason)} for the samples that were not made for a known
    reason: blocked by the guardrail, or never run once the restarts ran out. Any other
    non-zero exit raises CosmosError with the log's tail."""
    site = job["cosmos"]
    check_release(site)
    pending, outcome = dict(samples), {}
    for run in range(1 + site["max_restarts"]):
        params_file = stage / "cosmos_params.json"
        write_json(params_file, make_params(pending))
        command = inference_command(
            site, job["settings"], params_file.resolve(), stage.resolve(), gpus, stage_name
        )
        start, began = log_size(log_path), time.monotonic()
        code = cosmos.launch(command, site, gpus, log_path)
        took = time.monotonic() - began
        log.info(
            "Predict2.5 run %d: %d samples, exit code %d, %.1f s", run + 1, len(pending), code, took
        )
        if code == 0:
            return outcome
        name, excerpt = blocked_sample(read_from(log_path, start))
        if name not in pending:
            raise cosmos.failure(code, log_path)
        outcome[name] = (manifest.BLOCKED, f"Cosmos-Predict2.5's guardrail blocked it: {excerpt}")
        pending = {n: s for n, s in pending.items() if n != name and not made(stage, n)}
        if not pending or run == site["max_restarts"]:
            break
        log.warning(
            "guardrail blocked %s; restarting without it for %d samples: the model loads again "
            "(the last run took %.1f s)",
            name,
            len(pending),
            took,
        )
    if pending:
        log.warning("cosmos.max_restarts reached: %d samples not run", len(pending))
    reason = (
        f"not run: cosmos.max_restarts ({site['max_restarts']}) restarts after guardrail "
        "blocks were used up"
    )
    return {**outcome, **{name: (manifest.FAILED, reason) for name in pending}}


def made(stage, name):
    return any((stage / f"{name}{suffix}").is_file() for suffix in (".jpg", ".mp4"))


def log_size(log_path):
    path = Path(log_path)
    return path.stat().st_size if path.exists() else 0


def read_from(log_path, offset):
    with open(log_path, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", errors="replace")


def make_images(items, staged, stage, job, log_path):
    """text2world with one output frame: the text-to-image step."""
    samples = {pid: {"prompt": item["prompt"]} for pid, item in items.items()}
    outcome = run_batch(
        samples,
        lambda chosen: params("text2world", chosen, job, 1),
        stage,
        job,
        log_path,
        "text2image",
        gpus=1,
    )
    for pid in samples:
        problem = first_frame_as_image(stage / f"{pid}.mp4", staged[pid])
        if problem:
            outcome[pid] = (manifest.FAILED, problem)
    return outcome


def first_frame_as_image(video, image):
    """A release that makes a video even for one output frame (50369b8's model decides the
    length; see docs/cosmos.md): keep its first frame. Returns a problem, or None."""
    if image.exists() or not video.is_file():
        return None
    folder = video.with_suffix(".first")
    try:
        written = media.extract_frames(video, folder, [0])
    except RuntimeError as error:
        written, problem = 0, f"Cosmos wrote {video.name}, not an image, and ffmpeg: {error}"
    else:
        problem = None if written else f"Cosmos wrote {video.name}, not an image, with no frame"
    if written:
        (folder / "00000.jpg").rename(image)
        log.warning("%s: Cosmos wrote a video for one frame; its first frame is the image", video)
    shutil.rmtree(folder, ignore_errors=True)
    video.unlink()
    return problem


def make_videos(items, stage, job, log_path):
    """image2world from each made image; `items` {pid: batch item}."""
    samples = {
        pid: {"prompt": item["prompt"], "input_path": str(Path(item["input_video"]).resolve())}
        for pid, item in items.items()
    }
    frames = job["settings"]["num_output_frames"]
    return run_batch(
        samples,
        lambda chosen: params("image2world", chosen, job, frames),
        stage,
        job,
        log_path,
        "video2world",
        gpus=job["settings"]["num_gpus"],
    )


def frame_count(video):
    """Frames in a video, counted by ffmpeg (a stream copy, no decoding); None if unknown."""
    result = subprocess.run(
        [media.ffmpeg_executable(), "-hide_banner", "-nostdin", "-i", media.ffmpeg_input(video)]
        + ["-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
        capture_output=True,
        text=True,
        errors="replace",
    )
    counts = re.findall(r"frame=\s*(\d+)", result.stderr)
    return int(counts[-1]) if result.returncode == 0 and counts else None
