import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

FAKE_COSMOS = ROOT / "tests" / "fake_cosmos"
FAKE_PREDICT2_5 = ROOT / "tests" / "fake_cosmos_predict2_5"

DEMO_TEMPLATE = {
    "template": "{count} soda cans and a {who} on a belt",
    "video_template": "{count} soda cans roll past a {who}",
    "negative_prompt": "blurry",
    "variables": {"count": ["two", "three"], "who": ["worker", "forklift"]},
    "classes": {"can": ["soda can"], "person": ["worker"], "forklift": ["forklift"]},
}


def write_yaml(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def small_dataset(**overrides):
    dataset = {
        "template": "config/prompts/small.yaml",
        "seeds": 2,
        "generator": "procedural",
        "video2world": {"prompts_per_seed": 1, "fps": 16},
        "frames": {"fps": 4},
        "procedural": {"width": 64, "video_frames": 9},
        "labeling": {"smoke_models": True, "video": {"detect_every": 2}},
    }
    dataset.update(overrides)
    return dataset


# The test being set up or run: Project.snakemake checks its markers, so a test that runs
# Snakemake without saying so cannot slip into `make test-fast`.
RUNNING = {}


def pytest_runtest_setup(item):
    RUNNING["item"] = item


def require_marker(*names):
    item = RUNNING.get("item")
    if item and not any(item.get_closest_marker(name) for name in names):
        raise AssertionError(
            f"{item.nodeid} runs Snakemake: mark it @pytest.mark.{names[0]} (pytest.ini)"
        )


class Project:
    """A throwaway project folder that runs this repository's Snakefile."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def write_config(self, config, template=DEMO_TEMPLATE):
        # Smoke models through the transformers backend: the fastest to load on a CPU.
        config.setdefault("models", {"device": "cpu", "detector": {"backend": "transformers"}})
        write_yaml(self.folder / "config" / "prompts" / "small.yaml", template)
        return write_yaml(self.folder / "config" / "config.yaml", config)

    def command(self, *args):
        """The argv of this repository's Snakemake on this project, with `args`."""
        return [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(self.folder),
            "--configfile",
            str(self.folder / "config" / "config.yaml"),
            "--cores",
            "2",
            *args,
        ]

    def snakemake(self, *args, check=True, env=None):
        require_marker("workflow", "slurm")
        command = self.command(*args)
        result = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, **(env or {})}
        )
        output = result.stdout + result.stderr
        if check and result.returncode != 0:
            raise AssertionError(f"snakemake failed ({result.returncode}):\n{output[-6000:]}")
        return result.returncode, output

    def path(self, relative):
        return self.folder / relative


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


@pytest.fixture
def labels(tmp_path):
    """labels.json of three images and a video frame, an odd class name among them."""
    from support.exports import write_labels

    return write_labels(tmp_path)


@pytest.fixture
def videos(tmp_path):
    """labels.json of two tracked videos (one per seed) and a still."""
    from support.exports import write_videos

    return write_videos(tmp_path)


@pytest.fixture(scope="session")
def built_smoke_models(tmp_path_factory):
    """The smoke models, built once per test run: building them takes seconds each time."""
    from synthdet.label import smoke_models

    return smoke_models.build_all(tmp_path_factory.mktemp("smoke"))


@pytest.fixture
def smoke(built_smoke_models):
    """The smoke models' paths, a fresh copy for each test: a test may change its settings."""
    return copy.deepcopy(built_smoke_models)
