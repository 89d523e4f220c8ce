"""Faults injected on the CPU path (procedural generator, smoke models, fake Cosmos):
each must end with nothing lost and nothing half-written trusted."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import FAKE_COSMOS, small_dataset
from support.runs import checksums, job_counts

pytestmark = pytest.mark.workflow  # runs Snakemake: not in `make test-fast`


@pytest.mark.fault("GPU: CUDA out of memory in a labeling job (simulated)")
def test_cuda_out_of_memory_is_retried_with_smaller_sam2_calls(project):
    labeling = {"smoke_models": True, "max_candidates": 30, "candidate_floor": 0.0}
    project.write_config({"datasets": {"a": small_dataset(labeling=labeling, seeds=1)}})
    # The hook raises torch.cuda.OutOfMemoryError when one SAM 2 call gets > 20 boxes.
    _, output = project.snakemake(env={"SYNTHDET_SIMULATE_OOM_ABOVE_BOXES": "20"})
    assert "OutOfMemoryError" in output  # the first attempt failed ...
    log = project.path("logs/detect_images/a/part0.log").read_text()
    assert (
        "boxes per call: 16" in log and "items 4;" in log
    )  # ... and the retry labeled every image
    assert project.path("results/a/voc").is_dir()


@pytest.mark.fault("Cosmos: every prompt of a batch blocked")
def test_a_batch_with_every_prompt_blocked_still_completes(project):
    template = {
        "template": "a {x} can BLOCKME",
        "variables": {"x": ["red", "blue"]},
        "classes": {"can": ["can"]},
    }
    config = {
        "cosmos": {"workdir": str(FAKE_COSMOS), "python": [sys.executable]},
        "datasets": {
            "a": small_dataset(generator="cosmos", seeds=1, exports={"empty_images": "unlabeled"})
        },
    }
    project.write_config(config, template)
    project.snakemake(env={"FAKE_COSMOS_CALLS": str(project.path("calls.jsonl"))})
    summary = project.path("results/a/summary.json").read_text()
    assert '"blocked": 2' in summary and '"items": 0' in summary
    # Cosmos ran for the images only: an empty video batch launches nothing.
    assert len(project.path("calls.jsonl").read_text().splitlines()) == 1
    assert list(project.path("results/a/voc/JPEGImages").iterdir()) == []


def wait_for(path, seconds=120):
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)


@pytest.mark.fault("SIGKILL of Snakemake and its jobs mid-labeling")
def test_killed_run_reruns_only_what_is_incomplete_and_ends_the_same(project):
    project.write_config({"datasets": {"a": small_dataset()}})
    project.snakemake()
    uninterrupted = checksums(project.folder)
    assert any("voc" in name for name in uninterrupted)
    for name in ("results", "logs", ".snakemake"):
        subprocess.run(["rm", "-rf", str(project.path(name))], check=True)

    # Kill Snakemake and its jobs (SIGKILL, as a power cut) while labeling runs.
    command = project.command()
    run = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    wait_for(project.path("logs/detect_images/a/part0.log"))
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert not project.path("results/a/labels/part0.json").exists()

    # A killed Snakemake leaves its lock: the user unlocks, as Snakemake's message says.
    code, output = project.snakemake(check=False)
    assert code != 0 and "--unlock" in output
    project.snakemake("--unlock")
    _, output = project.snakemake("-n", "--quiet", "rules")
    planned = job_counts(output)
    assert "detect_images" in planned
    assert not {"text2image", "video2world", "extract_frames", "smoke_models"} & set(planned)
    project.snakemake()
    assert checksums(project.folder) == uninterrupted
