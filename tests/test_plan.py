"""The plan the rules wire (synthdet/setup/plan.py), tested without running Snakemake."""

import inspect
from dataclasses import asdict

import pytest

from conftest import DEMO_TEMPLATE, small_dataset, write_yaml
from synthdet.core.errors import ConfigError
from synthdet.core.smoke_files import smoke_model_files
from synthdet.label.job_settings import CandidateSettings, LabelSettings, label_settings
from synthdet.setup import plan
from synthdet.setup.config import checked_config


@pytest.fixture
def checked(tmp_path, monkeypatch):
    """`checked(**overrides)`: one dataset "d" with the schema's defaults, and its template."""
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "config" / "prompts" / "small.yaml", DEMO_TEMPLATE)

    def dataset_and_template(**overrides):
        config, templates = checked_config(
            {"datasets": {"d": small_dataset(**overrides)}}, "c.yaml"
        )
        return config["datasets"]["d"], templates["d"]

    return dataset_and_template


def with_labeling(checked, seeds, per_job, **labeling):
    ds, _ = checked(
        seeds=seeds, labeling={"smoke_models": True, "batches_per_job": per_job, **labeling}
    )
    return ds


def test_parts_keep_each_seed_where_it_was(checked):
    ds = with_labeling(checked, [0, 1, 5, 6, 7], 2)
    assert plan.parts(ds) == [0, 2, 3]
    assert plan.part_seeds(ds, "3") == [6, 7]
    more = with_labeling(checked, [0, 1, 4, 5, 6, 7, 9], 2)
    assert plan.part_seeds(more, "2") == [4, 5]  # seed 5 stays in part 2
    assert plan.part_seeds(more, 3) == [6, 7]


def test_label_inputs_are_the_seeds_of_one_part(checked):
    ds = with_labeling(checked, 4, 2)
    assert plan.label_inputs("frames", "d", ds, "1") == {
        "manifests": [
            "results/d/frames/seed2.manifest.json",
            "results/d/frames/seed3.manifest.json",
        ],
        "frames": ["results/d/frames/seed2", "results/d/frames/seed3"],
        "smoke_models": ["results/smoke_models"],
    }
    real = with_labeling(checked, 4, 2, smoke_models=False)
    assert plan.label_inputs("images", "d", real, "0")["smoke_models"] == []


def test_generation_params_hold_what_is_generated_not_how_it_is_launched(checked):
    ds, template = checked(video2world={"prompts_per_seed": 3, "fps": 16})
    image_job = plan.generation_params("text2image", ds, template)
    assert image_job["generator"] == "procedural"
    assert image_job["negative_prompt"] == "blurry"
    assert image_job["procedural"] == {"width": 64}  # frames do not change the images
    assert image_job["classes"] == DEMO_TEMPLATE["classes"]
    video_job = plan.generation_params("video2world", ds, template)
    assert "prompts_per_seed" not in video_job["settings"]
    assert "num_gpus" not in video_job["settings"]
    assert video_job["settings"]["fps"] == 16
    assert video_job["aspect_ratio"] == ds["text2image"]["aspect_ratio"]
    assert video_job["procedural"] == ds["procedural"]


def test_cosmos_jobs_take_gpus_and_no_classes(checked):
    ds, template = checked(generator="cosmos", video2world={"prompts_per_seed": 1, "num_gpus": 4})
    assert plan.generation_gpus("text2image", ds) == 1
    assert plan.generation_gpus("video2world", ds) == 4
    assert "classes" not in plan.generation_params("text2image", ds, template)
    procedural, _ = checked()
    assert plan.generation_gpus("video2world", procedural) == 0


def test_prompt_spec_leaves_out_classes(checked):
    _, template = checked()
    spec = plan.prompt_spec(template)
    assert set(spec) == {"template", "video_template", "variables"}


def test_manifests_and_kinds_follow_images_and_videos(checked):
    ds, _ = checked(seeds=[3])
    assert plan.dataset_manifests("d", ds) == {
        stage: [f"results/d/{stage}/seed3.manifest.json"]
        for stage in ("images", "videos", "frames")
    }
    assert plan.labeled_kinds(ds) == ["images", "frames"]
    assert plan.dataset_items(ds) == {"images": True, "frames": True}
    frames_only, _ = checked(images=False)
    assert plan.labeled_kinds(frames_only) == ["frames"]
    assert plan.filter_inputs("d", frames_only, "0") == {
        "frames": "results/d/candidates/frames/part0.json"
    }


def test_datasets_without_videos_plan_no_frames(checked):
    ds, _ = checked()
    ds = {key: value for key, value in ds.items() if key != "video2world"}
    assert list(plan.dataset_manifests("d", ds)) == ["images"]
    assert plan.tracking_video_folders("d", ds) == []
    assert plan.tune_inputs("d", ds) == {
        "images": ["results/d/candidates/images/part0.json"],
        "images_manifests": [
            "results/d/images/seed0.manifest.json",
            "results/d/images/seed1.manifest.json",
        ],
        "frames_manifests": [],
    }


def test_tune_and_evaluation_inputs_need_ground_truth_only_when_procedural(checked):
    ds, _ = checked(
        generator="cosmos", seeds=3, labeling={"smoke_models": True, "batches_per_job": 2}
    )
    assert plan.evaluation_inputs("d", ds) == []
    assert plan.tune_inputs("d", ds) == {
        "images": [
            "results/d/candidates/images/part0.json",
            "results/d/candidates/images/part1.json",
        ],
        "frames": [
            "results/d/candidates/frames/part0.json",
            "results/d/candidates/frames/part1.json",
        ],
    }
    procedural, _ = checked()
    assert plan.evaluation_inputs("d", procedural) == ["results/d/stats/evaluation.json"]
    assert plan.contact_sheets("d", procedural) == ["results/d/qa/part0.jpg"]
    assert plan.dataset_labels("d", procedural) == ["results/d/labels/part0.json"]


def test_candidate_settings_add_the_video_settings_for_frames(checked):
    ds, _ = checked()
    images = plan.candidate_settings("images", ds)
    assert set(images) == {"candidate_floor", "max_candidates"}
    frames = plan.candidate_settings("frames", ds)
    assert frames["detect_every"] == 2
    assert {**images, **ds["labeling"]["video"]} == frames


def test_the_rules_settings_param_builds_the_typed_job_settings(checked):
    """What label_part.py does with the rule's `settings` param and sam2_boxes_per_call."""
    ds, _ = checked()
    images = label_settings("images", plan.candidate_settings("images", ds), 3)
    assert images == LabelSettings(CandidateSettings(0.05, 100, 3), None)
    videos = label_settings("videos", plan.candidate_settings("frames", ds))
    assert videos.candidates == CandidateSettings(0.05, 100, 0)
    assert asdict(videos.tracking) == ds["labeling"]["video"]


def test_job_settings_name_a_missing_or_unknown_setting(checked):
    ds, _ = checked()
    params = plan.candidate_settings("frames", ds)
    with pytest.raises(ConfigError, match="videos job: max_missed: missing"):
        label_settings("videos", {k: v for k, v in params.items() if k != "max_missed"})
    with pytest.raises(ConfigError, match="images job: max_mised: not a labeling job setting"):
        label_settings("images", {**params, "max_mised": 2})
    with pytest.raises(ValueError, match="kind 'frames'"):
        label_settings("frames", params)


@pytest.mark.parametrize("backend", ["groundingdino", "transformers"])
def test_smoke_models_point_at_the_built_files(checked, backend):
    ds, _ = checked()
    models = {"device": "cpu", "detector": {"backend": backend}}
    chosen = plan.label_models(models, ds)
    files = smoke_model_files()
    assert chosen["smoke"] is True and chosen["device"] == "cpu"
    assert chosen["sam2"] == files["sam2"]
    assert chosen["detector"]["backend"] == backend
    assert chosen["detector"]["image_size"] == plan.SMOKE_IMAGE_SIZE
    for key, path in files[backend].items():
        assert chosen["detector"][key] == path
    if backend == "groundingdino":
        assert chosen["detector"]["text_encoder"] == "results/smoke_models/bert"
    real, _ = checked(labeling={"smoke_models": False})
    assert plan.label_models(models, real) == models


def test_where_fetch_models_puts_files_is_no_rerun_trigger(checked):
    real, _ = checked(labeling={"smoke_models": False})
    models = {"device": "cpu", "detector": {"backend": "transformers"}, "sam2": {}}
    moved = {**models, "folder": "/scratch/models", "pins": "site_pins.yaml"}
    assert plan.label_models(moved, real) == plan.label_models(models, real) == models


def test_augment_request_needs_an_augment_block(checked):
    ds, template = checked()
    with pytest.raises(ValueError, match="datasets.d has no augment: block"):
        plan.augment_request("d", ds, template)
    assert plan.augmented_inputs("d", ds) == []


def test_onstart_api_is_still_there():
    """The Snakefile's onstart reads the planned jobs through `workflow.dag.needrun_jobs()`,
    an internal Snakemake API with no public equivalent there: fail loudly when it changes."""
    import snakemake.api  # noqa: F401 (imported first: snakemake.dag alone is a cycle)
    from snakemake.dag import DAG

    method = getattr(DAG, "needrun_jobs", None)
    assert callable(method), "snakemake.dag.DAG.needrun_jobs is gone: fix the Snakefile's onstart"
    required = [
        p
        for p in list(inspect.signature(method).parameters.values())[1:]
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert not required, f"DAG.needrun_jobs now needs {required}: fix the Snakefile's onstart"
