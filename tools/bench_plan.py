"""Benchmark: how long `snakemake -n` takes to plan a large dataset.

Target (issue #2): 1,000 seeds x 100 prompts = 100,000 images, with videos for 10
prompts per seed = 10,000 videos, planned within 20 s on a 2-core machine.
Prints the job count and the wall time; run with `make bench`.
"""

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SEEDS, VALUES, VIDEOS_PER_SEED = 1000, 10, 10  # 10 x 10 values = 100 prompts


def write_project(folder):
    template = {
        "template": "a {a} can beside a {b} forklift",
        "variables": {
            "a": [f"colour{i}" for i in range(VALUES)],
            "b": [f"size{i}" for i in range(VALUES)],
        },
        "classes": {"can": ["can"], "forklift": ["forklift"]},
    }
    (folder / "config").mkdir()
    (folder / "config" / "big.yaml").write_text(yaml.safe_dump(template))
    config = {
        "datasets": {
            "big": {
                "template": "config/big.yaml",
                "seeds": SEEDS,
                "generator": "cosmos",
                "video2world": {"prompts_per_seed": VIDEOS_PER_SEED},
            }
        }
    }
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_project(folder)
        command = [
            sys.executable, "-m", "snakemake", "-n", "--quiet", "rules",
            "--snakefile", str(ROOT / "Snakefile"), "--directory", str(folder),
            "--configfile", str(folder / "config" / "config.yaml"),
        ]  # fmt: skip
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    total = re.search(r"^total\s+(\d+)", result.stdout + result.stderr, re.M)
    images, videos = SEEDS * VALUES * VALUES, SEEDS * VIDEOS_PER_SEED
    print(f"plan: {images} images, {videos} videos in {SEEDS} seed batches")
    print(f"jobs planned: {total.group(1) if total else '?'}")
    print(f"snakemake -n wall time: {seconds:.1f} s (target: 20 s)")


if __name__ == "__main__":
    main()
