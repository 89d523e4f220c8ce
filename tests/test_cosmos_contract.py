"""The `cosmos` backend against a stand-in Cosmos-Predict2 (tests/fake_cosmos).

The stand-in parses the real flag names and choices and the real batch JSON keys, so
these tests pin the contract: what is passed, what comes back, what a block or a crash
does to the batch.
"""

import json
import sys

import pytest

from synthdet.core.atomic import read_json, write_json
from synthdet.generate import batches, cosmos, generate
from conftest import FAKE_COSMOS

HOSTILE = "a can \"quoted\" 'single' $(touch /tmp/pwned) `id` ; rm -rf / café ü"


def site(**changes):
    return {
        "workdir": str(FAKE_COSMOS),
        "python": [sys.executable],
        "torchrun": ["torchrun"],
        "env": {},
        "extra_args": {"text2image": [], "video2world": []},
        **changes,
    }


def job(stage_settings, **extra):
    return {
        "dataset": "d",
        "seed": 3,
        "generator": "cosmos",
        "settings": stage_settings,
        "negative_prompt": "blurry $(id)",
        "cosmos": site(),
        **extra,
    }


T2I = {
    "model_size": "2B",
    "aspect_ratio": "16:9",
    "disable_guardrail": False,
    "offload_guardrail": False,
}
V2W = {
    "model_size": "2B",
    "resolution": 720,
    "fps": 10,
    "num_gpus": 1,
    "prompts_per_seed": None,
    "disable_guardrail": False,
    "offload_guardrail": False,
    "offload_prompt_refiner": True,
    "disable_prompt_refiner": False,
}


@pytest.fixture
def calls(tmp_path, monkeypatch):
    path = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_COSMOS_CALLS", str(path))
    monkeypatch.chdir(tmp_path)
    return path


def image_batch(tmp_path, prompts):
    items = batches.text2image_items(
        [{"id": f"p{i}", "prompt": text} for i, text in enumerate(prompts)],
        "results/d/images/seed3",
    )
    write_json(tmp_path / "t2i.json", items)
    return tmp_path / "t2i.json"


@pytest.mark.fault(
    "Cosmos: guardrail-blocked prompt and zero-byte output in one batch; hostile prompt reaches Cosmos byte for byte"
)
def test_text2image_batch_with_a_blocked_and_a_broken_prompt(tmp_path, calls):
    batch = image_batch(tmp_path, [HOSTILE, "BLOCKME please", "EMPTYFILE here", "a plain can"])
    log = tmp_path / "t2i.log"
    result = generate.text2image(
        batch, "results/d/images/seed3", "results/d/images/seed3.manifest.json", job(T2I), log
    )
    assert result["counts"] == {"made": 2, "blocked": 1, "failed": 1}
    status = {e["id"]: e["status"] for e in result["items"]}
    assert status == {"p0": "made", "p1": "blocked", "p2": "failed", "p3": "made"}
    assert read_json("results/d/images/seed3.manifest.json") == result
    folder = tmp_path / "results/d/images/seed3"
    assert (folder / "p0.jpg").is_file() and not (folder / "p1.jpg").exists()
    # The prompt reached Cosmos byte for byte through the JSON file, and no shell ran it.
    assert (folder / "p0.txt").read_text(
        encoding="utf-8"
    ) == f"[Prompt]\n{HOSTILE}\n[Negative Prompt]\nblurry $(id)\n"
    assert not (tmp_path / "../pwned").exists()
    [call] = [json.loads(line) for line in calls.read_text().splitlines()]
    argv = call["argv"]
    assert argv[argv.index("--seed") + 1] == "3"
    assert argv[argv.index("--model_size") + 1] == "2B"
    assert "--negative_prompt=blurry $(id)" in argv
    launched = read_json(folder / "cosmos_batch.json")
    assert [set(item) for item in launched] == [{"prompt", "output_image"}] * 4
    assert "GUARDRAIL BLOCKED" in log.read_text()


def test_video2world_uses_made_images_only(tmp_path, calls):
    batch = image_batch(tmp_path, ["a red can", "BLOCKME", "a blue can"])
    generate.text2image(
        batch,
        "results/d/images/seed3",
        "results/d/images/seed3.manifest.json",
        job(T2I),
        tmp_path / "a.log",
    )
    prompts = [
        {"id": f"p{i}", "prompt": "x", "video_prompt": text}
        for i, text in enumerate(["cans roll", "x", "BLOCKME roll"])
    ]
    items = batches.video2world_items(
        prompts, read_json("results/d/images/seed3.manifest.json"), "results/d/videos/seed3", None
    )
    assert [i["input_video"] for i in items] == [
        "results/d/images/seed3/p0.jpg",
        "results/d/images/seed3/p2.jpg",
    ]
    write_json(tmp_path / "v2w.json", items)
    result = generate.video2world(
        tmp_path / "v2w.json",
        "results/d/images/seed3.manifest.json",
        "results/d/videos/seed3",
        "results/d/videos/seed3.manifest.json",
        job(V2W, aspect_ratio="16:9"),
        tmp_path / "v.log",
    )
    assert result["counts"] == {"made": 1, "blocked": 1, "failed": 0}
    made = [e for e in result["items"] if e["status"] == "made"][0]
    assert made["fps"] == 10 and made["frames_expected"] == 61
    argv = json.loads(calls.read_text().splitlines()[-1])["argv"]
    for flag, value in [
        ("--resolution", "720"),
        ("--fps", "10"),
        ("--num_gpus", "1"),
        ("--aspect_ratio", "16:9"),
    ]:
        assert argv[argv.index(flag) + 1] == value
    assert "--offload_prompt_refiner" in argv


@pytest.mark.fault("Cosmos: non-zero exit fails the job with its log tail, leaves no output")
def test_a_crash_fails_the_job_with_the_log_tail_and_leaves_no_output(tmp_path, calls, monkeypatch):
    monkeypatch.setenv("FAKE_COSMOS_EXIT", "3")
    batch = image_batch(tmp_path, ["a can"])
    with pytest.raises(
        cosmos.CosmosError, match=r"(?s)exited with code 3.*CUDA out of memory \(simulated\)"
    ):
        generate.text2image(
            batch,
            "results/d/images/seed3",
            "results/d/images/seed3.manifest.json",
            job(T2I),
            tmp_path / "a.log",
        )
    assert not (tmp_path / "results/d/images/seed3").exists()
    assert not (tmp_path / "results/d/images/seed3.manifest.json").exists()
    assert not list((tmp_path / "results/d/images").iterdir())


@pytest.mark.fault("Cosmos: checkout not configured")
def test_missing_workdir_names_the_config_key(tmp_path, calls):
    batch = image_batch(tmp_path, ["a can"])
    with pytest.raises(ValueError, match="cosmos.workdir: is not set"):
        generate.text2image(
            batch, "out", "out.json", job(T2I, cosmos=site(workdir=None)), tmp_path / "a.log"
        )


def test_multi_gpu_video_runs_through_torchrun():
    command = cosmos.video2world_command(
        site(), {**V2W, "num_gpus": 4}, "16:9", "b.json", 1, "", "s.mp4"
    )
    assert command[:3] == ["torchrun", "--standalone", "--nproc_per_node=4"]
    assert command[3:5] == ["-m", "examples.video2world"]
    assert command[command.index("--num_gpus") + 1] == "4"


def test_guardrail_and_extra_flags_are_passed_as_configured():
    settings = {**T2I, "disable_guardrail": True, "model_size": "14B"}
    command = cosmos.text2image_command(
        site(
            python=["apptainer", "exec", "--nv", "c.sif", "python"],
            extra_args={"text2image": ["--use_cuda_graphs"], "video2world": []},
        ),
        settings,
        "b.json",
        0,
        "",
        "s.jpg",
    )
    assert command[:7] == [
        "apptainer",
        "exec",
        "--nv",
        "c.sif",
        "python",
        "-m",
        "examples.text2image",
    ]
    assert "--disable_guardrail" in command and command[-1] == "--use_cuda_graphs"
    assert not any(a.startswith("--negative_prompt") for a in command)
