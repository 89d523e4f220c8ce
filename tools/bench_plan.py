"""Benchmark: how long `snakemake -n` takes to plan a large dataset.

Target (issue #10): 1,000 seeds x 100 prompts = 100,000 images, with videos for 10
prompts per seed = 10,000 videos, to summary.json, planned within 15 s on a 2-core
machine. Prints, from one run:
- the project's plan: job count, wall time, CPU time and CPU ms per job (the CPU time of
  Snakemake's process: on a shared machine the wall time follows the others' load);
- a minimal Snakefile of the same per-seed shape (the same jobs per seed and per
  labeling part, plain shell rules, no script, conda, log or benchmark, an input
  function for detection and tracking): what Snakemake itself costs for a DAG this
  size, with the project's paths under results/{dataset}/ and with flat paths, and the
  project's ratio to each;
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
import resource
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


def write_project(folder, seeds=SEEDS, exports=None):
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
                **({"exports": exports} if exports else {}),
            }
        }
    }
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return ROOT / "Snakefile", ["--configfile", str(folder / "config" / "config.yaml")]


def write_farm_project(folder, seeds=SEEDS):
    """The project as a farm runs it: exports by shard of 4 labeling parts (about 5,000
    items; docs/exports.md), so no export job holds the whole dataset."""
    return write_project(folder, seeds, exports={"shard_parts": 4})


MINIMAL = """
SEEDS = range({seeds})
PARTS = range({parts})


def part_seeds(w):
    return [s for s in SEEDS if s // {per_part} == int(w.part)]


rule all:
    input: "{target}summary.json"

rule prompts:
    output: "{root}prompts.json"
    localrule: True
    shell: "touch {{output}}"

rule text2image:
    input: "{root}prompts.json"
    output: batch="{root}batches/t2i/seed{{seed}}.json", images=directory("{root}images/seed{{seed}}"), manifest="{root}images/seed{{seed}}.json"
    shell: "touch {{output}}"

rule video2world:
    input: "{root}prompts.json", "{root}images/seed{{seed}}", "{root}images/seed{{seed}}.json"
    output: batch="{root}batches/v2w/seed{{seed}}.json", videos=directory("{root}videos/seed{{seed}}"), manifest="{root}videos/seed{{seed}}.json"
    shell: "touch {{output}}"

rule frames:
    input: "{root}videos/seed{{seed}}", "{root}videos/seed{{seed}}.json"
    output: directory("{root}frames/seed{{seed}}"), "{root}frames/seed{{seed}}.json"
    shell: "touch {{output}}"

rule detect:
    input: lambda w: expand("{root}images/seed{{s}}.json", s=part_seeds(w){of_dataset})
    output: "{root}candidates/images/part{{part}}.json"
    shell: "touch {{output}}"

rule track:
    input: lambda w: expand("{root}frames/seed{{s}}.json", s=part_seeds(w){of_dataset})
    output: "{root}candidates/frames/part{{part}}.json"
    shell: "touch {{output}}"

rule filter:
    input: "{root}candidates/images/part{{part}}.json", "{root}candidates/frames/part{{part}}.json"
    output: "{root}labels/part{{part}}.json"
    shell: "touch {{output}}"

rule overlays:
    input: "{root}labels/part{{part}}.json"
    output: "{root}qa/part{{part}}.jpg"
    shell: "touch {{output}}"

rule export:
    input: expand("{kept_root}labels/part{{part}}.json", part=PARTS)
    output: "{root}export/{{format}}.json"
    shell: "touch {{output}}"

rule summary:
    input: expand("{kept_root}export/{{format}}.json", format=["voc", "coco", "yolo", "stats"]), expand("{kept_root}qa/part{{part}}.jpg", part=PARTS)
    output: "{root}summary.json"
    localrule: True
    shell: "touch {{output}}"
"""
# Path layouts of the minimal Snakefile: flat, or under results/{dataset}/ as the
# project's (a wildcard first: Snakemake's output index then tells rules apart only by
# what follows, see docs/performance.md).
FLAT = {"root": "", "target": "", "kept_root": "", "of_dataset": ""}
PER_DATASET = {
    "root": "results/{dataset}/",
    "target": "results/big/",
    "kept_root": "results/{{dataset}}/",  # kept a wildcard by expand()
    "of_dataset": ", dataset=w.dataset",
}


def write_minimal(folder, seeds=SEEDS, layout=FLAT):
    folder.mkdir(parents=True)
    parts = -(-seeds // SEEDS_PER_PART)
    snakefile = folder / "Snakefile"
    text = MINIMAL.format(seeds=seeds, parts=parts, per_part=SEEDS_PER_PART, **layout)
    snakefile.write_text(text)
    return snakefile, []


def write_minimal_per_dataset(folder, seeds=SEEDS):
    return write_minimal(folder, seeds, PER_DATASET)


def plan(write, seeds=SEEDS, slurm=False):
    """Plan in a fresh folder; returns (jobs, seconds, cpu seconds, SLURM jobs or None).
    CPU seconds (user + system of Snakemake's process) hardly change with the load of
    a shared machine, where the wall time does. With `slurm`,
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
        start, cpu_start = time.perf_counter(), children_cpu()
        result = subprocess.run(command, capture_output=True, text=True)
        seconds, cpu = time.perf_counter() - start, children_cpu() - cpu_start
    output = result.stdout + result.stderr
    if result.returncode != 0:
        sys.exit(output)
    jobs = int(re.search(r"^total\s+(\d+)", output, re.M).group(1))
    counted = re.search(r"^slurm jobs: (.*)$", output, re.M)
    return jobs, seconds, cpu, json.loads(counted.group(1)) if counted else None


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def per_job(jobs, seconds, cpu):
    return (
        f"{jobs} jobs in {seconds:.1f} s ({cpu:.1f} s CPU), {1000 * cpu / jobs:.2f} ms CPU per job"
    )


def main():
    images, videos = SEEDS * VALUES * VALUES, SEEDS * VIDEOS_PER_SEED
    print(f"plan: {images} images, {videos} videos in {SEEDS} seed batches, to summary.json")
    jobs, seconds, cpu, _ = plan(write_project)
    print(f"  project: {per_job(jobs, seconds, cpu)} (target: 15 s)")
    for name, write in [
        (
            "minimal Snakefile of the same shape, paths under results/{dataset}/",
            write_minimal_per_dataset,
        ),
        ("the same with flat paths (no dataset wildcard)", write_minimal),
    ]:
        minimal_jobs, minimal_seconds, minimal_cpu, _ = plan(write)
        ratio = (cpu / jobs) / (minimal_cpu / minimal_jobs)
        print(
            f"  {name}: {per_job(minimal_jobs, minimal_seconds, minimal_cpu)}; project {ratio:.2f}x"
        )
    big_jobs, big_seconds, big_cpu, slurm_jobs = plan(
        write_farm_project, seeds=10 * SEEDS, slurm=True
    )
    print(
        f"plan: {10 * images} images (10x the seeds: {10 * SEEDS} seeds x "
        f"{VALUES * VALUES} prompts), exports by shard, with profiles/slurm: {per_job(big_jobs, big_seconds, big_cpu)}"
    )
    groups = ", ".join(f"{name} {n}" for name, n in slurm_jobs.items() if name != "total")
    print(f"  SLURM jobs submitted: {slurm_jobs['total']} ({groups})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--slurm-jobs"]:
        count_slurm_jobs(sys.argv[2:])
    else:
        main()
