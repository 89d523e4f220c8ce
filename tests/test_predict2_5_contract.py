"""The `cosmos` backend with `cosmos.release: predict2.5`, against the stand-in
(tests/fake_cosmos_predict2_5): the params file and command line it accepts, what a
guardrail block (which ends the whole process) does to a batch, and the release check.
"""

import json
import sys
from pathlib import Path

import pytest

from synthdet.core.atomic import read_json, write_json
from synthdet.core.errors import ConfigError
from synthdet.generate import batches, cosmos, generate, predict2_5
from synthdet.setup import plan
from synthdet.setup.config import check_site_settings, checked_config
from synthdet.setup.cosmos_release import release_problem
from conftest import DEMO_TEMPLATE, FAKE_PREDICT2_5, small_dataset, write_yaml

HOSTILE = "a can \"quoted\" 'single' $(touch /tmp/pwned) `id` ; rm -rf / café ü\n-x"
SETTINGS = {
    "model": "2B/post-trained",
    "guidance": 5,
    "resolution": "36,64",
    "disable_guardrails": False,
    "offload_guardrail_models": True,
}


def site(**changes):
    return {
        "release": "predict2.5",
        "workdir": str(FAKE_PREDICT2_5),
        "python": [sys.executable],
        "torchrun": ["torchrun"],
        "env": {},
        "extra_args": {"text2image": [], "video2world": []},
        "max_restarts": 16,
        **changes,
    }


def job(frames=1, **extra):
    return {
        "dataset": "d",
        "seed": 3,
        "generator": "cosmos",
        "release": "predict2.5",
        "settings": {**SETTINGS, "num_output_frames": frames, "num_gpus": 1},
        "negative_prompt": "blurry $(id)",
        "cosmos": site(),
        **extra,
    }


@pytest.fixture
def calls(tmp_path, monkeypatch):
    path = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_COSMOS_CALLS", str(path))
    monkeypatch.chdir(tmp_path)
    return lambda: [json.loads(line) for line in path.read_text().splitlines()]


def make_images(tmp_path, prompts, the_job=None):
    items = batches.text2image_items(
        [{"id": f"p{i}", "prompt": text} for i, text in enumerate(prompts)],
        "results/d/images/seed3",
    )
    write_json(tmp_path / "t2i.json", items)
    return generate.text2image(
        tmp_path / "t2i.json",
        "results/d/images/seed3",
        "results/d/images/seed3.manifest.json",
        the_job or job(),
        tmp_path / "t2i.log",
    )


def statuses(result):
    return {entry["id"]: entry["status"] for entry in result["items"]}


@pytest.mark.fault(
    "Predict2.5: a guardrail block ends the process; the batch reruns without it; hostile prompt byte-exact"
)
def test_a_blocked_prompt_in_the_middle_is_recorded_and_the_rest_are_made(tmp_path, calls, caplog):
    caplog.set_level("INFO", logger="synthdet")
    result = make_images(tmp_path, [HOSTILE, "BLOCKME please", "a plain can", "a red can"])
    assert statuses(result) == {"p0": "made", "p1": "blocked", "p2": "made", "p3": "made"}
    blocked = result["items"][1]
    assert blocked["reason"].startswith("Cosmos-Predict2.5's guardrail blocked it: ")
    assert "GUARDRAIL BLOCKED: Blocklist" in blocked["reason"]
    assert read_json("results/d/images/seed3.manifest.json") == result
    folder = tmp_path / "results/d/images/seed3"
    assert sorted(p.name for p in folder.glob("*.jpg")) == ["p0.jpg", "p2.jpg", "p3.jpg"]
    first, second = calls()
    # The second run skips what the first made (p0) and the blocked p1.
    assert list(first["params"]["samples"]) == ["p0", "p1", "p2", "p3"]
    assert list(second["params"]["samples"]) == ["p2", "p3"]
    # The prompt reached Cosmos byte for byte through the params file; no shell ran it.
    assert first["params"]["samples"]["p0"] == {"prompt": HOSTILE}
    assert not (tmp_path / "../pwned").exists()
    assert first["params"] == {
        "inference_type": "text2world",
        "samples": first["params"]["samples"],
        "seed": 3,
        "guidance": 5,
        "resolution": "36,64",
        "num_output_frames": 1,
        "negative_prompt": "blurry $(id)",
    }
    argv = first["argv"]
    # PARAMS.json OUTPUT_DIR: the outputs land in the staging folder, the params file too.
    assert argv[0].endswith("/cosmos_params.json") and Path(argv[0]).parent == Path(argv[1])
    assert argv[argv.index("--model") + 1] == "2B/post-trained"
    assert "--offload-guardrail-models" in argv and "--disable-guardrails" not in argv
    assert "Processing sample p1" in (tmp_path / "t2i.log").read_text()
    assert "Predict2.5 run 1: 4 samples, exit code 1" in caplog.text
    assert "restarting without it for 2 samples: the model loads again" in caplog.text


def test_every_prompt_blocked_finishes_with_every_item_blocked(tmp_path, calls):
    result = make_images(tmp_path, ["BLOCKME a", "BLOCKME b", "BLOCKME c"])
    assert result["counts"] == {"made": 0, "blocked": 3, "failed": 0}
    assert [len(call["params"]["samples"]) for call in calls()] == [3, 2, 1]


def test_restarts_are_bounded_and_what_is_left_is_failed(tmp_path, calls):
    the_job = job(cosmos=site(max_restarts=1))
    result = make_images(tmp_path, ["BLOCKME a", "BLOCKME b", "a can"], the_job)
    assert statuses(result) == {"p0": "blocked", "p1": "blocked", "p2": "failed"}
    assert "cosmos.max_restarts (1)" in result["items"][2]["reason"]
    assert len(calls()) == 2


@pytest.mark.fault("Predict2.5: another non-zero exit fails the job with its log tail")
def test_a_crash_fails_the_job_with_the_log_tail(tmp_path, calls, monkeypatch):
    monkeypatch.setenv("FAKE_COSMOS_EXIT", "1")
    with pytest.raises(cosmos.CosmosError, match=r"(?s)exited with code 1.*CUDA out of memory"):
        make_images(tmp_path, ["a can", "BLOCKME"])
    assert not (tmp_path / "results/d/images/seed3").exists()


def test_videos_by_image2world_from_the_made_images(tmp_path, calls):
    make_images(tmp_path, ["a red can", "BLOCKME", "a blue can", "a can"])
    prompts = [
        {"id": f"p{i}", "prompt": "x", "video_prompt": text}
        for i, text in enumerate(["cans roll", "x", "BLOCKVIDEO roll", "cans stop"])
    ]
    items = batches.video2world_items(
        prompts, read_json("results/d/images/seed3.manifest.json"), "results/d/videos/seed3", None
    )
    write_json(tmp_path / "v2w.json", items)
    result = generate.video2world(
        tmp_path / "v2w.json",
        "results/d/images/seed3.manifest.json",
        "results/d/videos/seed3",
        "results/d/videos/seed3.manifest.json",
        job(frames=9),
        tmp_path / "v.log",
    )
    assert statuses(result) == {"p0": "made", "p2": "blocked", "p3": "made"}
    assert "VideoContentSafetyFilter" in result["items"][1]["reason"]
    made = result["items"][0]
    assert made["fps"] == 16 and made["frames_expected"] == 9
    params = calls()[-2]["params"]
    assert params["inference_type"] == "image2world" and params["num_output_frames"] == 9
    image = (tmp_path / "results/d/images/seed3/p0.jpg").resolve()
    assert params["samples"]["p0"] == {"prompt": "cans roll", "input_path": str(image)}


def test_a_release_that_ignores_the_frame_count_still_gives_images(tmp_path, calls, monkeypatch):
    """At 50369b8 the model decides a video's length: one frame may still be an .mp4."""
    monkeypatch.setenv("FAKE_COSMOS_FRAMES", "5")
    result = make_images(tmp_path, ["a can"])
    assert statuses(result) == {"p0": "made"}
    folder = tmp_path / "results/d/images/seed3"
    assert (folder / "p0.jpg").is_file() and not (folder / "p0.mp4").exists()
    assert predict2_5.frame_count(write_video(tmp_path)) == 5


def write_video(tmp_path):
    make = job(frames=5)
    samples = {"v": {"prompt": "a can"}}
    out = tmp_path / "out"
    out.mkdir()
    write_json(out / "params.json", predict2_5.params("text2world", samples, make, 5))
    cosmos.run(
        predict2_5.inference_command(site(), SETTINGS, out / "params.json", out, 1, "text2image"),
        site(),
        gpus=0,
        log_path=tmp_path / "w.log",
    )
    return out / "v.mp4"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"guidance": 8}, "guidance: Input should be between 0 and 7"),
        ({"guidance": 7.5}, "guidance: Input should be a valid integer"),
        ({"inference_type": "image2world"}, "Input file is required"),
        (
            {
                "inference_type": "image2world",
                "samples": {"a": {"prompt": "x", "input_path": "no.jpg"}},
            },
            "samples.a.input_path: Path does not point to a file",
        ),
    ],
)
def test_the_stand_in_validates_the_params_file_like_inference_arguments(tmp_path, change, message):
    out = tmp_path / "out"
    data = {**predict2_5.params("text2world", {"a": {"prompt": "x"}}, job(), 1), **change}
    write_json(tmp_path / "params.json", data)
    command = predict2_5.inference_command(
        site(), SETTINGS, tmp_path / "params.json", out, 1, "text2image"
    )
    with pytest.raises(cosmos.CosmosError, match=message):
        cosmos.run(command, site(), gpus=0, log_path=tmp_path / "a.log")


def test_input_path_is_resolved_relative_to_the_params_file(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(
        (FAKE_PREDICT2_5 / "README.md").read_bytes()  # any file: only its existence is checked
    )
    sys.path.insert(0, str(FAKE_PREDICT2_5))
    try:
        from cosmos_predict2.config import InferenceArguments
    finally:
        sys.path.remove(str(FAKE_PREDICT2_5))
    data = {
        "inference_type": "image2world",
        "samples": {"a": {"prompt": "x", "input_path": "a.jpg"}},
    }
    write_json(tmp_path / "in" / "params.json", data)
    args = InferenceArguments.from_file(tmp_path / "in" / "params.json")
    assert args["samples"]["a"]["input_path"] == (tmp_path / "in" / "a.jpg").resolve()


def test_multi_gpu_videos_run_through_torchrun():
    command = predict2_5.inference_command(site(), SETTINGS, "p.json", "out", 4, "video2world")
    assert command[:4] == [
        "torchrun",
        "--standalone",
        "--nproc_per_node=4",
        "examples/inference.py",
    ]
    assert command[4:6] == ["p.json", "out"]


def test_the_release_check_refuses_a_later_params_format(tmp_path):
    assert release_problem(FAKE_PREDICT2_5) is None
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "inference.py").write_text("")
    (tmp_path / "cosmos_predict2").mkdir()
    # A later release: one sample per file (name, prompt, input_path), no `samples`.
    (tmp_path / "cosmos_predict2" / "config.py").write_text(
        "class InferenceArguments(CommonInferenceArguments):\n"
        "    inference_type: str\n    input_path: str | None = None\n"
        "    resolution: str = 'none'\n    num_output_frames: int = 77\n"
    )
    problem = release_problem(tmp_path)
    assert "not the params format this workflow writes" in problem and "50369b8" in problem
    assert "is not a Cosmos-Predict2.5 checkout" in release_problem(tmp_path / "examples")


@pytest.mark.fault("Predict2.5: an unsupported release is refused before any job")
def test_an_unsupported_release_stops_the_run_before_any_job(tmp_path):
    config = {
        "cosmos": site(workdir=str(tmp_path)),
        "datasets": {"a": {"generator": "cosmos"}},
    }
    with pytest.raises(ConfigError, match="c.yaml: cosmos.workdir: release predict2.5: .*missing"):
        check_site_settings(config, "c.yaml", [("text2image", "a")])
    config["cosmos"]["workdir"] = str(FAKE_PREDICT2_5)
    check_site_settings(config, "c.yaml", [("text2image", "a")])
    # A run of an unsupported checkout stops before Cosmos starts, in the job too.
    with pytest.raises(ConfigError, match="cosmos.workdir: .*is not a Cosmos-Predict2.5 checkout"):
        make_images(tmp_path, ["a can"], job(cosmos=site(workdir=str(tmp_path))))


def test_predict2_5_params_are_the_dataset_settings_and_the_release(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "config" / "prompts" / "small.yaml", DEMO_TEMPLATE)
    dataset = small_dataset(generator="cosmos", predict2_5={"guidance": 3})
    config, templates = checked_config({"datasets": {"d": dataset}}, "c.yaml")
    ds, template = config["datasets"]["d"], templates["d"]
    assert config["cosmos"]["release"] == "predict2" and config["cosmos"]["max_restarts"] == 16
    images = plan.generation_params("text2image", ds, template, release="predict2.5")
    videos = plan.generation_params("video2world", ds, template, release="predict2.5")
    assert images == {
        "generator": "cosmos",
        "release": "predict2.5",
        "settings": {
            "model": "2B/post-trained",
            "guidance": 3,
            "resolution": "none",
            "num_output_frames": 1,
            "disable_guardrails": False,
            "offload_guardrail_models": False,
        },
        "negative_prompt": "blurry",  # the template's, as Predict2 takes it
    }
    assert videos["settings"]["num_output_frames"] == 77
    # Predict2's settings are not Predict2.5's triggers, and a procedural dataset ignores
    # the release.
    assert "fps" not in videos["settings"]
    procedural = config["datasets"]["d"] | {"generator": "procedural"}
    assert "release" not in plan.generation_params("text2image", procedural, template, "predict2.5")


@pytest.mark.parametrize(
    "change, key",
    [
        ({"guidance": 8}, "guidance"),
        ({"resolution": "720p"}, "resolution"),
        ({"num_output_frames": 1}, "num_output_frames"),
        ({"model": "14B/post-trained"}, "model"),
        ({"steps": 10}, "unknown key .steps."),
    ],
)
def test_the_schema_checks_predict2_5_settings(tmp_path, monkeypatch, change, key):
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "config" / "prompts" / "small.yaml", DEMO_TEMPLATE)
    dataset = small_dataset(generator="cosmos", predict2_5=change)
    with pytest.raises(ConfigError, match=f"c.yaml: datasets.d.predict2_5.*{key}"):
        checked_config({"datasets": {"d": dataset}}, "c.yaml")
