"""profiles/slurm for real: snakemake-executor-plugin-slurm submits every job through
sbatch to a one-node SLURM cluster on this machine (tests/slurm/cluster.py).

Needs root and Debian's slurmctld, slurmd, slurm-client and munge; skipped with the
reason otherwise. What each job asked for is read back from SLURM (`scontrol show job`:
finished jobs stay listed for MinJobAge, an hour), not from Snakemake's own logs, and
which Snakemake jobs a SLURM job ran from the output file SLURM wrote for it (its StdOut).
"""

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import FAKE_COSMOS, ROOT, Project, small_dataset
from slurm import cluster
from support.runs import checksums, job_counts

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        bool(cluster.missing()), reason=f"SLURM test needs a local cluster: {cluster.missing()}"
    ),
]

LOCAL_RULES = {"expand_prompts", "summarize_dataset"}
GPU_RULES = {"detect_images", "track_videos"}  # text2image, video2world: GPUs for Cosmos only
GPU_PARTITION_RULES = GPU_RULES | {"text2image", "video2world"}
COSMOS = {"workdir": str(FAKE_COSMOS), "python": [sys.executable]}
SHIPPED = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm")
    conf = cluster.start(state)
    yield {"SLURM_CONF": str(conf)}
    cluster.stop(state)


def slurm_profile(folder, **rule_resources):
    """profiles/slurm as shipped, with the placeholders filled in. Only the conda
    deployment goes: this machine has no conda, so jobs use this Python's packages.
    `rule_resources` ({rule: {resource: value}}) changes single values of a rule
    (--set-resources on the command line would replace all of the rule's)."""
    text = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    for placeholder, value in {
        "<account>": "synthdet",
        "<cpu-partition>": "cpu",
        "<gpu-partition>": "gpu",
    }.items():
        text = text.replace(placeholder, value)
    profile = yaml.safe_load(text)
    assert profile.pop("software-deployment-method") == "conda"
    for rule, resources in rule_resources.items():
        profile["set-resources"][rule].update(resources)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def submit_args(profile, *extra):
    return [
        "--profile",
        str(profile),
        # No accounting database here: status comes from squeue (MinJobAge is an hour).
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--jobs",
        "3",
        # SLURM's output file of each job stays, to read which Snakemake jobs it ran.
        "--slurm-keep-successful-logs",
        *extra,
    ]


def slurm_jobs(env):
    """Every job slurmctld knows: {id: fields of `scontrol show job --oneliner`}."""
    result = subprocess.run(
        [cluster.which("scontrol"), "show", "job", "--oneliner"],
        capture_output=True,
        text=True,
        env={**env, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    jobs = {}
    for line in result.stdout.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if "JobId" in fields:
            # The executor's comment names the rule, or a group job as
            # <group>_<its rules>, e.g. generate_text2image_video2world.
            rule = re.match(r"rule_(.+?)(_wildcards_.*)?$", fields.get("Comment", ""))
            fields["rule"] = rule.group(1) if rule else None
            jobs[fields["JobId"]] = fields
    return jobs


def snakemake_jobs_in(job):
    """The Snakemake jobs one SLURM job ran, {(rule, wildcards)}, from the output file
    SLURM wrote for it: Snakemake inside the job lists each job it runs."""
    text = Path(job["StdOut"]).read_text()
    members = set()
    for block in re.finditer(r"^[ \t]*rule (\w+):\n((?:[ \t]+\w+: .*\n)*)", text, re.M):
        wildcards = re.search(r"^[ \t]+wildcards: (.*)$", block.group(2), re.M)
        members.add((block.group(1), wildcards.group(1) if wildcards else ""))
    return members


def known_jobs(env):
    """Ids of the jobs earlier tests left in slurmctld: not this test's."""
    return set(slurm_jobs(env))


def config():
    return {"datasets": {"a": small_dataset()}}  # the procedural stand-in, with videos


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Where every project of this module runs, one after the other: the VOC files
    record their absolute image path, so byte-identical means the same folder."""
    return tmp_path_factory.mktemp("slurm-project") / "project"


def fresh_project(folder):
    shutil.rmtree(folder, ignore_errors=True)
    project = Project(folder)
    project.write_config(config())
    return project


@pytest.fixture(scope="module")
def local_outputs(folder):
    """Checksums of the labels and every export of the same project run locally."""
    reference = fresh_project(folder)
    reference.snakemake()
    found = checksums(reference.folder)
    assert any("voc" in name for name in found)
    return found


def test_the_workflow_runs_through_sbatch_and_ends_as_a_local_run(
    slurm, local_outputs, folder, tmp_path
):
    earlier = known_jobs(slurm)
    project = fresh_project(folder)
    profile = slurm_profile(tmp_path / "profile")
    _, plan = project.snakemake("-n", "--quiet", "rules")
    _, output = project.snakemake(*submit_args(profile), env=slurm)
    assert "SLURM jobid" in output

    jobs = [job for id, job in slurm_jobs(slurm).items() if id not in earlier]
    planned = {rule: n for rule, n in job_counts(plan).items() if rule not in LOCAL_RULES | {"all"}}
    ran = {job["JobId"]: snakemake_jobs_in(job) for job in jobs}
    # Every other rule's jobs ran in SLURM jobs, each once; local rules in none.
    assert Counter(rule for members in ran.values() for rule, _ in members) == planned
    assert sum(len(members) for members in ran.values()) == sum(planned.values())
    # Packed: fewer SLURM jobs than Snakemake jobs, and a group's members (here few
    # enough for one pack each: 2 seeds, 1 labeling part) shared one SLURM job.
    assert len(jobs) < sum(planned.values())
    for group in set(SHIPPED["groups"].values()):
        rules = {rule for rule, name in SHIPPED["groups"].items() if name == group}
        if not rules & set(planned):
            continue  # e.g. the per-shard exports of a dataset that exports as one
        holding = [id for id, members in ran.items() if {rule for rule, _ in members} & rules]
        assert len(holding) == 1, (group, holding)
        assert {rule for rule, _ in ran[holding[0]]} == rules & set(planned), group
    for job in jobs:
        rules, name = {rule for rule, _ in ran[job["JobId"]]}, f"job {job['JobId']}"
        assert job["JobState"] == "COMPLETED", name
        assert job["Account"] == "synthdet", name
        gpu_partition = rules <= GPU_PARTITION_RULES
        assert gpu_partition or not rules & GPU_PARTITION_RULES, name  # never mixed
        assert job["Partition"] == ("gpu" if gpu_partition else "cpu"), name
        # The form profiles/slurm documents: the `gpu` resource becomes sbatch --gpus=N.
        # The procedural stand-in generates on the CPU: its generation jobs ask none.
        assert (job.get("TresPerJob") == "gres:gpu:1") == (rules <= GPU_RULES), name
    assert checksums(project.folder) == local_outputs


def wait_for_running(env, rule, seen, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for id, job in slurm_jobs(env).items():
            if id not in seen and rule in job["rule"] and job["JobState"] == "RUNNING":
                return id
        time.sleep(1)
    raise AssertionError(f"no {rule} job ran within {seconds} s")


def test_a_cancelled_labeling_job_is_resubmitted_and_ends_the_same(
    slurm, local_outputs, folder, tmp_path
):
    earlier = known_jobs(slurm)
    project = fresh_project(folder)
    profile = slurm_profile(tmp_path / "profile")
    command = project.command(*submit_args(profile))
    log = tmp_path / "snakemake.log"  # a file, not a pipe nobody reads while polling
    with open(log, "w") as handle:
        run = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **slurm}
        )
        try:
            cancelled = wait_for_running(slurm, "detect_images", earlier)
            subprocess.run([cluster.which("scancel"), cancelled], env=slurm, check=True)
            run.wait(timeout=900)
        finally:
            if run.poll() is None:
                run.kill()
    output = log.read_text()
    assert run.returncode == 0, output[-4000:]
    jobs = {id: job for id, job in slurm_jobs(slurm).items() if id not in earlier}
    assert jobs[cancelled]["JobState"] == "CANCELLED"
    detects = [job["JobState"] for job in jobs.values() if "detect_images" in job["rule"]]
    assert sorted(detects) == ["CANCELLED", "COMPLETED"]  # resubmitted once, as a retry

    assert checksums(project.folder) == local_outputs


def test_a_job_over_its_time_limit_fails_with_its_log(slurm, tmp_path):
    earlier = known_jobs(slurm)
    project = Project(tmp_path / "slurm")
    project.write_config(
        {"cosmos": COSMOS, "datasets": {"t": small_dataset(generator="cosmos", seeds=1)}}
    )
    # One minute is SLURM's smallest limit; the fake Cosmos run hangs for ten. Each
    # attempt costs a minute or more, so this run does not retry (--retries 0).
    profile = slurm_profile(tmp_path / "profile", text2image={"runtime": 1})
    code, output = project.snakemake(
        "results/t/images/seed0.manifest.json",
        *submit_args(profile, "--retries", "0"),
        check=False,
        env={**slurm, "FAKE_COSMOS_SLEEP": "600"},
    )
    assert code != 0
    jobs = [job for id, job in slurm_jobs(slurm).items() if id not in earlier]
    assert [(job["rule"], job["JobState"], job["TimeLimit"]) for job in jobs] == [
        ("generate_text2image", "TIMEOUT", "00:01:00")  # a group of one job
    ]
    # Cosmos text2image asks for one GPU on the GPU partition.
    assert (jobs[0]["Partition"], jobs[0]["TresPerJob"]) == ("gpu", "gres:gpu:1")
    # A group job's error names the group, not SLURM's state; the SLURM log it shows
    # (profiles/default's show-failed-logs) says why, then the rule's own log.
    assert "DUE TO TIME LIMIT" in output
    assert "fake cosmos: loading the model" in output  # the job's log, shown with the error
    assert not project.path("results/t/images/seed0.manifest.json").exists()
