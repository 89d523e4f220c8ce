"""Benchmark: how long `snakemake -n` takes to plan a large dataset.

Target (issue #10): 1,000 seeds x 100 prompts = 100,000 images, with videos for 10
prompts per seed = 10,000 videos, to summary.json, planned within 15 s on a 2-core
machine. Prints, from one run:
- the project's plan: job count, wall time, ms per job;
- a minimal Snakefile of the same per-seed shape (the same jobs per seed and per
  labeling part, plain shell rules, no input functions): its ms per job, what Snakemake
  itself costs for a DAG this size;
- the project's plan for 1,000,000 images: 10x the seeds (10,000 seeds x 100 prompts),
  planned with profiles/slurm as shipped, and how many SLURM jobs that profile submits
  for it (its groups pack several Snakemake jobs into one SLURM job).
Run with `make bench`.

`bench_plan.py --slurm-jobs SNAKEMAKE_ARGS...` runs `snakemake SNAKEMAKE_ARGS` (a dry run)
in this process and prints, as a JSON line, the SLURM jobs the plan makes (see
`submissions`).
"""

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SLURM_PROFILE = ROOT / "profiles" / "slurm"
SEEDS, VALUES, VIDEOS_PER_SEED = 1000, 10, 10  # 10 x 10 values = 100 prompts
SEEDS_PER_PART = 4  # labeling.batches_per_job's default


def write_project(folder, seeds=SEEDS):
    template = {
        "template": "a {a} can beside a {b} forklift",
        "variables": {
            "a": [f"colour{i}" for i in range(VALUES)],
            "b": [f"size{i}" for i in range(VALUES)],
        },
        "classes": {"can": ["can"], "forklift": ["forklift"]},
    }
    (folder / "config").mkdir(parents=True)
    (folder / "config" / "big.yaml").write_text(yaml.safe_dump(template))
    config = {
        "datasets": {
            "big": {
                "template": "config/big.yaml",
                "seeds": seeds,
                "generator": "cosmos",
                "video2world": {"prompts_per_seed": VIDEOS_PER_SEED},
            }
        }
    }
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return ROOT / "Snakefile", ["--configfile", str(folder / "config" / "config.yaml")]


MINIMAL = """
SEEDS = range({seeds})
PARTS = range({parts})


def part_seeds(w):
    return [s for s in SEEDS if s // {per_part} == int(w.part)]


rule all:
    input: "summary.json"

rule prompts:
    output: "prompts.json"
    localrule: True
    shell: "touch {{output}}"

rule text2image:
    input: "prompts.json"
    output: batch="batches/t2i/seed{{seed}}.json", images=directory("images/seed{{seed}}"), manifest="images/seed{{seed}}.json"
    shell: "touch {{output}}"

rule video2world:
    input: "prompts.json", "images/seed{{seed}}", "images/seed{{seed}}.json"
    output: batch="batches/v2w/seed{{seed}}.json", videos=directory("videos/seed{{seed}}"), manifest="videos/seed{{seed}}.json"
    shell: "touch {{output}}"

rule frames:
    input: "videos/seed{{seed}}", "videos/seed{{seed}}.json"
    output: directory("frames/seed{{seed}}"), "frames/seed{{seed}}.json"
    shell: "touch {{output}}"

rule detect:
    input: lambda w: expand("images/seed{{s}}.json", s=part_seeds(w))
    output: "candidates/images/part{{part}}.json"
    shell: "touch {{output}}"

rule track:
    input: lambda w: expand("frames/seed{{s}}.json", s=part_seeds(w))
    output: "candidates/frames/part{{part}}.json"
    shell: "touch {{output}}"

rule filter:
    input: "candidates/images/part{{part}}.json", "candidates/frames/part{{part}}.json"
    output: "labels/part{{part}}.json"
    shell: "touch {{output}}"

rule overlays:
    input: "labels/part{{part}}.json"
    output: "qa/part{{part}}.jpg"
    shell: "touch {{output}}"

rule export:
    input: expand("labels/part{{part}}.json", part=PARTS)
    output: "export/{{format}}.json"
    shell: "touch {{output}}"

rule summary:
    input: expand("export/{{format}}.json", format=["voc", "coco", "yolo", "stats"]), expand("qa/part{{part}}.jpg", part=PARTS)
    output: "summary.json"
    localrule: True
    shell: "touch {{output}}"
"""


def write_minimal(folder, seeds=SEEDS):
    folder.mkdir(parents=True)
    parts = -(-seeds // SEEDS_PER_PART)
    snakefile = folder / "Snakefile"
    snakefile.write_text(MINIMAL.format(seeds=seeds, parts=parts, per_part=SEEDS_PER_PART))
    return snakefile, []


def plan(write, seeds=SEEDS, slurm=False):
    """Plan in a fresh folder; returns (jobs, seconds, SLURM jobs or None). With `slurm`,
    the plan uses profiles/slurm (conda swapped for env-modules: Snakemake checks for
    conda even when planning) and counts the SLURM jobs it makes."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "project"
        snakefile, extra = write(folder, seeds)
        if slurm:
            extra = [*extra, "--profile", str(SLURM_PROFILE), "--sdm", "env-modules"]
        runner = [__file__, "--slurm-jobs"] if slurm else ["-m", "snakemake"]
        command = [
            sys.executable,
            *runner,
            "-n",
            "--quiet",
            "rules",
            "--snakefile",
            str(snakefile),
            "--directory",
            str(folder),
            *extra,
        ]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode != 0:
        sys.exit(output)
    jobs = int(re.search(r"^total\s+(\d+)", output, re.M).group(1))
    counted = re.search(r"^slurm jobs: (.*)$", output, re.M)
    return jobs, seconds, json.loads(counted.group(1)) if counted else None


def submissions(dag):
    """The SLURM jobs a planned DAG makes, counted as Snakemake's scheduler submits them:
    a group job (the jobs sharing a group id, chunked by --group-components) is one
    sbatch, every other job one sbatch, except local rules (localrule, or no shell/script,
    like `all`), which run in the submitting process. Returns {"total": n, "single": jobs
    outside groups, <group id>: its SLURM jobs}."""
    workflow = dag.workflow
    counts = {"total": 0, "single": 0}
    seen = set()
    for job in dag.needrun_jobs():
        if job.group is not None:
            group = dag._group[job]  # the group job Snakemake submits for this job
            if group not in seen:
                seen.add(group)
                counts[group.groupid] = counts.get(group.groupid, 0) + 1
                counts["total"] += 1
        # Not job.is_local: a dry run executes locally, so every job says local then.
        elif not (job.rule.name in workflow._localrules or job.rule.norun):
            counts["single"] += 1
            counts["total"] += 1
    return counts


def count_slurm_jobs(arguments):
    """Run `snakemake ARGUMENTS` (a dry run) in this process and print the SLURM jobs of
    its plan. The DAG is taken where Snakemake has just formed the group jobs it would
    submit (DAG.update_groups), before the dry run marks jobs done."""
    from snakemake import cli
    from snakemake.dag import DAG

    counted = []
    form_groups = DAG.update_groups

    def update_groups(dag):
        form_groups(dag)
        counted.append(submissions(dag))

    DAG.update_groups = update_groups
    try:
        cli.main(arguments)
    except SystemExit as done:
        if done.code:
            raise
    print("slurm jobs: " + json.dumps(counted[0]))


def main():
    jobs, seconds, _ = plan(write_project)
    images, videos = SEEDS * VALUES * VALUES, SEEDS * VIDEOS_PER_SEED
    print(f"plan: {images} images, {videos} videos in {SEEDS} seed batches, to summary.json")
    per_job = 1000 * seconds / jobs
    print(f"  project: {jobs} jobs in {seconds:.1f} s (target: 15 s), {per_job:.2f} ms per job")
    minimal_jobs, minimal_seconds, _ = plan(write_minimal)
    minimal_per_job = 1000 * minimal_seconds / minimal_jobs
    print(
        f"  minimal Snakefile of the same shape: {minimal_jobs} jobs in "
        f"{minimal_seconds:.1f} s, {minimal_per_job:.2f} ms per job"
    )
    big_jobs, big_seconds, slurm_jobs = plan(write_project, seeds=10 * SEEDS, slurm=True)
    print(
        f"plan: {10 * images} images (10x the seeds: {10 * SEEDS} seeds x "
        f"{VALUES * VALUES} prompts) with profiles/slurm: {big_jobs} jobs in "
        f"{big_seconds:.1f} s, {1000 * big_seconds / big_jobs:.2f} ms per job"
    )
    groups = ", ".join(f"{name} {n}" for name, n in slurm_jobs.items() if name != "total")
    print(f"  SLURM jobs submitted: {slurm_jobs['total']} ({groups})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--slurm-jobs"]:
        count_slurm_jobs(sys.argv[2:])
    else:
        main()
