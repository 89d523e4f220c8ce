"""Launching NVIDIA Cosmos-Predict2 on one seed batch.

How Cosmos is started (a checkout with its Python, or a container command) is site
configuration (`cosmos:` in the config). Prompts travel in the batch JSON file; the
process is started from an argv list, never through a shell.
"""

import os
import shlex
import subprocess
from collections import deque
from pathlib import Path

from ..core.errors import ConfigError
from ..core.gpus import gpu_lease

LOG_TAIL_LINES = 40


class CosmosError(RuntimeError):
    pass


def text2image_command(site, settings, batch_file, seed, negative_prompt, save_path):
    command = [
        *site["python"],
        "-m",
        "examples.text2image",
        "--model_size",
        settings["model_size"],
        "--aspect_ratio",
        settings["aspect_ratio"],
    ]
    command += batch_flags(batch_file, seed, save_path, negative_prompt)
    command += guardrail_flags(settings)
    return command + list(site["extra_args"]["text2image"])


def batch_flags(batch_file, seed, save_path, negative_prompt):
    """What both Cosmos scripts take for a batch: one seed and one negative prompt apply
    to every item. `--save_path` also places the run's .yaml config file (in staging)."""
    flags = [
        "--batch_input_json",
        str(batch_file),
        "--seed",
        str(seed),
        "--save_path",
        str(save_path),
    ]
    if negative_prompt:
        # One argv item: a prompt starting with "-" must not read as a flag.
        flags.append(f"--negative_prompt={negative_prompt}")
    return flags


def launcher(site, gpus):
    """The argv that starts Cosmos's Python: torchrun over `gpus` GPUs when there are
    several (context parallelism; --standalone picks a free rendezvous port, so jobs
    sharing a node do not clash), else the site's python."""
    if gpus > 1:
        return [*site["torchrun"], "--standalone", f"--nproc_per_node={gpus}"]
    return list(site["python"])


def video2world_command(site, settings, aspect_ratio, batch_file, seed, negative_prompt, save_path):
    gpus = settings["num_gpus"]  # torchrun's workers and --num_gpus must agree
    command = launcher(site, gpus) + [
        "-m",
        "examples.video2world",
        "--model_size",
        settings["model_size"],
        "--resolution",
        str(settings["resolution"]),
        "--fps",
        str(settings["fps"]),
        "--aspect_ratio",
        aspect_ratio,
        "--num_gpus",
        str(gpus),
    ]
    command += batch_flags(batch_file, seed, save_path, negative_prompt)
    command += guardrail_flags(settings)
    if settings.get("offload_prompt_refiner"):
        command.append("--offload_prompt_refiner")
    if settings.get("disable_prompt_refiner"):
        command.append("--disable_prompt_refiner")
    return command + list(site["extra_args"]["video2world"])


def guardrail_flags(settings):
    flags = []
    if settings.get("disable_guardrail"):
        flags.append("--disable_guardrail")
    if settings.get("offload_guardrail"):
        flags.append("--offload_guardrail")
    return flags


def frames_per_video(fps):
    """Cosmos-Predict2 video2world makes 93 frames at 16 fps and 61 at 10 fps."""
    return {16: 93, 10: 61}[fps]


def log_tail(log_path, lines=LOG_TAIL_LINES):
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        return "".join(deque(handle, maxlen=lines))


def checked_workdir(site):
    """The configured checkout, or a ConfigError naming `cosmos.workdir`."""
    if not site.get("workdir"):
        raise ConfigError(
            "config", "cosmos.workdir", "is not set: point it at your Cosmos-Predict2 checkout"
        )
    workdir = Path(site["workdir"])
    if not workdir.is_dir():
        raise ConfigError("config", "cosmos.workdir", f"{str(workdir)!r} is not a directory")
    return workdir


def launch(command, site, gpus, log_path):
    """Run Cosmos from its checkout, its output appended to the log; returns the exit code."""
    workdir = checked_workdir(site)
    env = {**os.environ, **site["env"]}
    with gpu_lease(gpus) as devices:
        if devices is not None:
            env["CUDA_VISIBLE_DEVICES"] = devices
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"$ cd {shlex.quote(str(workdir))} && {shlex.join(command)}\n")
            log.flush()
            return subprocess.run(
                command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            ).returncode


def failure(returncode, log_path):
    return CosmosError(
        f"Cosmos exited with code {returncode}; last lines of {log_path}:\n" + log_tail(log_path)
    )


def run(command, site, gpus, log_path):
    """Run Cosmos from its checkout; a non-zero exit raises with the log's tail."""
    returncode = launch(command, site, gpus, log_path)
    if returncode != 0:
        raise failure(returncode, log_path)
