"""Snakemake itself on small throwaway projects: plans, runs, reruns, errors."""

import csv
import re
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import DEMO_TEMPLATE, FAKE_COSMOS, ROOT, small_dataset
from support.runs import job_counts

pytestmark = pytest.mark.workflow  # runs Snakemake: not in `make test-fast`

# What reruns after the labels change: the CPU stages after labeling, one job each.
AFTER_LABELS = {
    "filter_labels": 1,
    "export_voc": 1,
    "export_coco": 1,
    "export_mot": 1,
    "export_yolo": 1,
    "qa_overlays": 1,
    "tracking_videos": 1,
    "dataset_stats": 1,
    "summarize_dataset": 1,
    "all": 1,
}
# New candidates also rebuild the tuning page; a threshold change alone does not.
AFTER_CANDIDATES = {**AFTER_LABELS, "tune_page": 1}


def test_dry_run_plans_one_job_per_seed_batch(project):
    project.write_config(
        {
            "datasets": {
                "a": small_dataset(seeds=3),
                "b": small_dataset(
                    seeds=[5, 9], video2world={"prompts_per_seed": 2}, generator="cosmos"
                ),
                "c": {k: v for k, v in small_dataset(seeds=1).items() if k != "video2world"},
            }
        }
    )
    _, output = project.snakemake("-n", "--quiet", "rules")
    assert job_counts(output) == {
        "expand_prompts": 3,
        "text2image": 6,
        "video2world": 5,
        "extract_frames": 5,
        "smoke_models": 1,
        "detect_images": 4,
        "track_videos": 3,
        "filter_labels": 4,
        "export_voc": 3,
        "export_coco": 3,
        "export_mot": 3,
        "export_yolo": 3,
        "qa_overlays": 4,
        "tracking_videos": 3,
        "evaluate_labels": 2,
        "dataset_stats": 3,
        "summarize_dataset": 3,
        "tune_page": 3,
        "all": 1,
    }


def test_slurm_profile_plans_without_slurm(project):
    project.write_config({"datasets": {"a": small_dataset(generator="cosmos")}})
    # The profile deploys conda envs, and Snakemake asks `conda info` even when planning;
    # this machine has no conda, so the test swaps in env-modules (checked only at run time).
    # Everything else comes from the profile as shipped.
    _, output = project.snakemake(
        "-n", "--profile", str(ROOT / "profiles" / "slurm"), "--sdm", "env-modules"
    )
    assert "This was a dry-run" in output
    assert re.search(r"rule text2image:(.|\n)*?gpu=1", output)


@pytest.mark.fault("config: wrong type stops the run naming file and key")
def test_bad_config_stops_with_file_and_key(project):
    project.write_config({"datasets": {"a": small_dataset(seeds="many")}})
    code, output = project.snakemake("-n", check=False)
    assert code != 0
    expected = "config/config.yaml: datasets.a.seeds: 'many' is not valid: expected A count N"
    assert expected in output, output


@pytest.mark.fault("reruns: second run and touched config files do nothing")
def test_full_run_then_only_affected_stages_rerun(project):
    config = {"datasets": {"a": small_dataset()}}
    path = project.write_config(config)
    project.snakemake()
    summary = project.path("results/a/summary.json").read_text()
    assert '"files": 6' in summary  # 2 seeds x 1 video x 3 frames (9 frames at 16 fps -> 4 fps)

    _, output = project.snakemake("-n")
    assert "Nothing to be done" in output
    # Touching files whose content did not change reruns nothing.
    path.touch()
    project.path("config/prompts/small.yaml").touch()
    _, output = project.snakemake("-n")
    assert "Nothing to be done" in output

    # A frame-rate change reruns frame extraction and what reads frames; no generation.
    config["datasets"]["a"]["frames"]["fps"] = 8
    project.write_config(config)
    _, output = project.snakemake("-n", "--quiet", "rules")
    assert job_counts(output) == {
        "extract_frames": 2,
        "track_videos": 1,
        "evaluate_labels": 1,
        **AFTER_CANDIDATES,
    }


def test_cosmos_backend_through_snakemake_and_site_changes_rerun_nothing(project):
    template = {
        "template": "a {x} soda can",
        "negative_prompt": "blurry",
        "variables": {"x": ["red", "BLOCKME"]},
        "classes": {"can": ["soda can"]},
    }
    config = {
        "cosmos": {"workdir": str(FAKE_COSMOS), "python": [sys.executable]},
        "datasets": {"a": small_dataset(generator="cosmos", seeds=1, frames={"fps": 2})},
    }
    project.write_config(config, template)
    project.snakemake()
    summary = project.path("results/a/summary.json").read_text()
    assert '"blocked": 1' in summary and '"files": 12' in summary  # 93 frames at 16 fps -> 2 fps

    # Site configuration changes nothing.
    config["cosmos"]["env"] = {"HF_HOME": "/elsewhere"}
    project.write_config(config, template)
    _, output = project.snakemake("-n")
    assert "Nothing to be done" in output

    # The ontology changes the labels, not what Cosmos made.
    template["classes"]["person"] = ["worker"]
    project.write_config(config, template)
    _, output = project.snakemake("-n", "--quiet", "rules")
    assert job_counts(output) == {"detect_images": 1, "track_videos": 1, **AFTER_CANDIDATES}

    # The negative prompt does.
    template["negative_prompt"] = "blurry, dark"
    project.write_config(config, template)
    _, output = project.snakemake("-n", "--quiet", "rules")
    counts = job_counts(output)
    assert counts["text2image"] == 1 and counts["video2world"] == 1
    assert "expand_prompts" not in counts


@pytest.mark.parametrize("target", ["results/../escape.json", "/tmp/elsewhere/summary.json"])
def test_targets_outside_results_match_no_rule(project, target):
    project.write_config({"datasets": {"a": small_dataset()}})
    code, output = project.snakemake("-n", target, check=False)
    assert code != 0 and "MissingRuleException" in output or "No rule to produce" in output


HOSTILE_CLASS = 'fork&lift <x> "y" $(id)'


@pytest.mark.fault("exports: XML and shell metacharacters in a class name, end to end")
def test_labeling_run_then_threshold_tweak_reruns_only_the_cpu_filter(project):
    labeling = {"smoke_models": True, "batches_per_job": 2, "video": {"detect_every": 2}}
    config = {"datasets": {"a": small_dataset(labeling=labeling)}}
    template = {**DEMO_TEMPLATE, "classes": {**DEMO_TEMPLATE["classes"], HOSTILE_CLASS: ["truck"]}}
    project.write_config(config, template)
    project.snakemake()
    summary = project.path("results/a/summary.json").read_text()
    assert '"items": 14' in summary  # 2 seeds x 4 images + 2 videos x 3 frames
    labels = project.path("results/a/labels/part0.json").read_text()
    assert '"kind":"frame"' in labels and '"kind":"image"' in labels
    # One GPU job for both seeds: the models were loaded once for all its images.
    log = project.path("logs/detect_images/a/part0.log").read_text()
    assert log.count("models loaded") == 1 and "items 8;" in log
    assert "images per detector batch: 4" in log  # labeling.batch_size's default
    assert "labels are meaningless" in log
    # Exports, QA and the report.
    voc = project.path("results/a/voc")
    images = sorted(p.stem for p in (voc / "JPEGImages").iterdir())
    assert images and sorted(p.stem for p in (voc / "Annotations").iterdir()) == images
    assert project.path("results/a/coco/annotations/instances_train.json").is_file()
    assert project.path("results/a/qa/part0.jpg").is_file()
    videos = sorted(p.name for p in project.path("results/a/qa/videos/part0").glob("*.mp4"))
    assert len(videos) == 2  # one annotated tracking video per labeled video
    assert '"map50"' in project.path("results/a/stats/stats.json").read_text()
    names = set()
    for xml in (voc / "Annotations").glob("*.xml"):  # every file is well-formed XML
        names |= {o.findtext("name") for o in ElementTree.parse(xml).getroot().iter("object")}
    with open(project.path("results/a/stats/per_class.csv"), newline="") as handle:
        assert HOSTILE_CLASS in [row["class"] for row in csv.DictReader(handle)]
    assert names <= {"can", "person", "forklift", HOSTILE_CLASS}
    project.snakemake("--report", str(project.path("report.html")))
    report = project.path("report.html").read_text(errors="replace")
    assert "part0.jpg" in report and "plot.png" in report and videos[0] in report
    assert HOSTILE_CLASS not in report  # files are embedded base64-encoded, never as markup

    # The batch size changes how, not what: batched candidates agree with one-by-one ones.
    config["datasets"]["a"]["labeling"]["batch_size"] = 1
    project.write_config(config, template)
    _, output = project.snakemake("-n")
    assert "Nothing to be done" in output

    for change in (
        {"box_threshold": 0.6},
        {"per_class": {"can": {"text_threshold": 0.9}}},
        {"nms_iou": 0.3},
        {"box_from": "detector"},
        {"track_score": "mean"},
    ):
        config["datasets"]["a"]["labeling"]["thresholds"] = change
        project.write_config(config, template)
        _, output = project.snakemake("-n", "--quiet", "rules")
        assert job_counts(output) == {"evaluate_labels": 1, **AFTER_LABELS}, change

    # The floor is a GPU-stage setting: raising it relabels, but generates nothing anew.
    config["datasets"]["a"]["labeling"]["candidate_floor"] = 0.2
    config["datasets"]["a"]["labeling"]["thresholds"] = {}
    project.write_config(config, template)
    _, output = project.snakemake("-n", "--quiet", "rules")
    assert job_counts(output) == {
        "detect_images": 1,
        "track_videos": 1,
        "evaluate_labels": 1,
        **AFTER_CANDIDATES,
    }
