"""profiles/slurm's job packing (Snakemake groups): what each group holds, and how many
SLURM jobs a plan makes, counted by tools/bench_plan.py from Snakemake's own DAG."""

import collections
import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

PROFILE = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
BENCH = ROOT / "tools" / "bench_plan.py"
GPU_RULES = {"text2image", "video2world", "detect_images", "track_videos"}
MAX_TIME = 24 * 60  # minutes: a common partition MaxTime


def rule_resource(rule, name):
    return PROFILE["set-resources"].get(rule, {}).get(name, PROFILE["default-resources"][name])


def members():
    groups = collections.defaultdict(set)
    for rule, group in PROFILE["groups"].items():
        groups[group].add(rule)
    return groups


def test_every_group_holds_gpu_rules_or_cpu_rules_never_both():
    assert members(), "profiles/slurm packs no jobs"
    for group, rules in members().items():
        assert rules <= GPU_RULES or not rules & GPU_RULES, (group, rules)
        # Snakemake refuses a group whose members ask for different partitions.
        assert len({rule_resource(rule, "slurm_partition") for rule in rules}) == 1, group


def test_every_group_has_a_size_and_a_gpu_group_fits_a_day():
    for group, rules in members().items():
        size = PROFILE["group-components"][group]
        assert isinstance(size, int) and size >= 1, group
        if rules <= GPU_RULES:
            # One GPU job at a time (profiles/default's gpu=1): the runtimes add up.
            minutes = size * sum(rule_resource(rule, "runtime") for rule in rules)
            assert minutes <= MAX_TIME, (group, minutes)


def bench_plan_slurm_jobs(project, *args):
    command = project.command(*args)
    runner = command.index("-m")
    command[runner : runner + 2] = [str(BENCH), "--slurm-jobs"]
    result = subprocess.run(command, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


@pytest.mark.workflow
def test_bench_plan_counts_the_slurm_jobs_snakemake_prints_for_the_profile(project):
    from conftest import small_dataset

    # 16 seeds of images and videos: 4 labeling parts of 4 seeds.
    project.write_config({"datasets": {"a": small_dataset(generator="cosmos", seeds=16)}})
    profile = ["--profile", str(ROOT / "profiles" / "slurm"), "--sdm", "env-modules"]
    output = bench_plan_slurm_jobs(project, "-n", *profile)
    counted = yaml.safe_load(re.search(r"^slurm jobs: (.*)$", output, re.M).group(1))
    sizes = PROFILE["group-components"]
    assert counted == {
        "generate": -(-16 // sizes["generate"]),  # 16 text2image + 16 video2world
        "frames": -(-16 // sizes["frames"]),
        "detect": -(-4 // sizes["detect"]),
        "track": -(-4 // sizes["track"]),
        "labels": -(-4 // sizes["labels"]),  # 4 x (filter, overlays, tracking videos)
        "single": 7,  # the four exports, statistics, the tuning page, the smoke models
        "total": counted["total"],
    }
    assert counted["total"] == sum(n for name, n in counted.items() if name != "total")
    # Snakemake's own dry-run listing shows the same group jobs.
    printed = collections.Counter(re.findall(r"Group job (\w+) \(jobs", output))
    assert printed == {name: n for name, n in counted.items() if name not in ("single", "total")}
    # Unpacked, 16 x 3 seed jobs + 4 x 5 part jobs + 7 others would each be a SLURM job.
    assert counted["total"] < 16 * 3 + 4 * 5 + 7
