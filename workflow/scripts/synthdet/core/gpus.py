"""Which GPU a local job uses.

Snakemake's `gpu` resource limits how many GPU jobs run at once, but locally it does
not tell a job *which* GPU to use: without this, every concurrent job lands on cuda:0.
A job leases free devices through lock files (released by the kernel when the job
dies, so a killed job never leaves a stale lease). Under SLURM, or whenever
CUDA_VISIBLE_DEVICES is already set, the scheduler has chosen and nothing is leased.
"""

import fcntl
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

LEASE_DIR = Path(".snakemake") / "gpu_leases"


def visible_gpus():
    """Indices of the GPUs nvidia-smi lists; none when there is no NVIDIA driver."""
    try:
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return []
    if result.returncode != 0:
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def try_lock(path):
    handle = open(path, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@contextmanager
def gpu_lease(count, lease_dir=LEASE_DIR, poll_seconds=5.0):
    """Yield the CUDA_VISIBLE_DEVICES value for a job needing `count` GPUs, or None
    when the environment already decides (SLURM, a user setting) or there is no GPU."""
    if count <= 0 or "CUDA_VISIBLE_DEVICES" in os.environ:
        yield None
        return
    devices = visible_gpus()
    if not devices:
        yield None
        return
    if count > len(devices):
        raise RuntimeError(f"this job needs {count} GPUs but nvidia-smi lists {len(devices)}")
    Path(lease_dir).mkdir(parents=True, exist_ok=True)
    held = {}
    try:
        while True:
            for device in devices:
                if len(held) < count and device not in held:
                    handle = try_lock(Path(lease_dir) / f"gpu{device}.lock")
                    if handle:
                        held[device] = handle
            if len(held) == count:
                break
            # Let go of a partial set so two multi-GPU jobs cannot deadlock.
            for handle in held.values():
                handle.close()
            held = {}
            time.sleep(poll_seconds)
        yield ",".join(held)
    finally:
        for handle in held.values():
            handle.close()
