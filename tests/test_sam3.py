"""SAM 3 as a labeler (models.detector.backend: sam3).

transformers 5 cannot live in .venv/ (groundingdino-py needs transformers < 5), so the
agreement test runs tests/support/sam3_agreement.py under .venv-sam3/'s python, which
`make setup` builds, and checks its report here. The rest runs in .venv/.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import DEMO_TEMPLATE, ROOT, small_dataset, write_yaml
from synthdet.core.errors import ConfigError
from synthdet.label.sam3_env import REEXECUTED, SAM3_PYTHON, sam3_python
from synthdet.label.sam3_models import best_instances
from synthdet.setup import plan
from synthdet.setup.config import checked_config

SAM3_VENV_PYTHON = sam3_python(ROOT)
SCORE_TOLERANCE = 1e-5  # float32 rounding; one pixel less moves scores by ~0.1
BOX_TOLERANCE = 1e-3  # pixels
MASK_TOLERANCE = 1e-4  # fraction of a mask's pixels


def require_sam3_env():
    """Fail, not skip: `make test` builds .venv-sam3/ first, so its absence is a bug."""
    assert os.path.exists(SAM3_VENV_PYTHON), f"no {SAM3_VENV_PYTHON}: run `make setup`"


@pytest.fixture(scope="module")
def agreement(tmp_path_factory):
    require_sam3_env()
    work = tmp_path_factory.mktemp("sam3")
    script = ROOT / "tests" / "support" / "sam3_agreement.py"
    result = subprocess.run(
        [SAM3_VENV_PYTHON, str(script), str(work)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("picture", [0, 1], ids=["333x250", "1280x704"])
def test_candidates_agree_with_transformers_sam3(agreement, picture):
    """The project's boxes, class scores and masks are those of Sam3Processor +
    Sam3Model + post_process_instance_segmentation, one prompt per phrase."""
    report = agreement[picture]
    ours, theirs = report["count"]
    assert ours == theirs and ours > 0
    assert report["classes_agree"] and report["only_own_class"]
    assert report["score"] <= SCORE_TOLERANCE
    assert report["box"] <= BOX_TOLERANCE
    assert report["mask_pixels"] <= MASK_TOLERANCE


def test_tolerance_sees_one_pixel(agreement):
    """At these tolerances the smoke model tells apart a picture one column narrower."""
    assert agreement[2]["one_pixel"] > 100 * SCORE_TOLERANCE


def test_a_phrase_over_sam3s_32_tokens_is_refused_by_name(agreement):
    message = agreement[3]["long_phrase"]
    assert message and "classes: phrase 'crate crate" in message
    assert "above its 32: shorten it" in message


def test_best_instances_over_all_phrases_floor_and_limit():
    scores = [np.array([0.2, 0.9, 0.04]), np.array([0.5]), np.array([0.9, 0.3])]
    assert best_instances(scores, floor=0.25, limit=10) == [(0, 1), (2, 0), (1, 0), (2, 1)]
    assert best_instances(scores, floor=0.25, limit=2) == [(0, 1), (2, 0)]
    assert best_instances(scores, floor=0.95, limit=10) == []
    assert best_instances([], floor=0.0, limit=10) == []


def checked(tmp_path, monkeypatch, detector, **overrides):
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "config" / "prompts" / "small.yaml", DEMO_TEMPLATE)
    config = {"models": {"detector": detector}, "datasets": {"d": small_dataset(**overrides)}}
    return checked_config(config, "c.yaml")[0]


def test_config_refuses_sam3_without_its_model_dir(tmp_path, monkeypatch):
    real = {"smoke_models": False}
    with pytest.raises(ConfigError, match=r"c.yaml: models.detector.model_dir: is not set.*sam3"):
        checked(tmp_path, monkeypatch, {"backend": "sam3"}, labeling=real)
    config = checked(tmp_path, monkeypatch, {"backend": "sam3", "model_dir": "m"}, labeling=real)
    assert config["models"]["detector"]["backend"] == "sam3"
    # Smoke datasets label with the SAM 3 smoke model: no folder needed.
    checked(tmp_path, monkeypatch, {"backend": "sam3"})


def test_sam3_jobs_get_their_env_and_smoke_model(tmp_path, monkeypatch):
    config = checked(tmp_path, monkeypatch, {"backend": "sam3"})
    models, ds = config["models"], config["datasets"]["d"]
    assert plan.label_env(models) == "../../envs/label-sam3.yaml"
    assert plan.sam3_smoke_inputs(models, ds) == ["results/smoke_sam3"]
    detector = plan.label_models(models, ds)["detector"]
    assert detector["backend"] == "sam3" and detector["model_dir"] == "results/smoke_sam3"
    other = {"detector": {"backend": "transformers"}}
    assert plan.label_env(other) == "../../envs/label.yaml"
    assert plan.sam3_smoke_inputs(other, ds) == []
    assert (ROOT / "workflow" / "rules" / plan.label_env(models)).exists()


PROBE = textwrap.dedent("""
    import sys
    sys.path.insert(0, {scripts!r})
    from synthdet.label.sam3_env import run_in_sam3_env
    run_in_sam3_env(__file__, {root!r})
    import transformers
    print(transformers.__version__, sys.executable)
    """)


def run_probe(tmp_path, env):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE.format(scripts=str(ROOT / "workflow" / "scripts"), root=str(ROOT)))
    environment = {k: v for k, v in os.environ.items() if k not in (REEXECUTED, SAM3_PYTHON)}
    return subprocess.run(
        [sys.executable, str(probe)],
        capture_output=True,
        text=True,
        env={**environment, **env},
        timeout=120,
    )


def test_a_script_reruns_itself_under_the_sam3_env(tmp_path):
    """The default profile runs scripts with .venv/'s python (transformers 4): the SAM 3
    entry scripts re-execute under .venv-sam3/'s, where transformers 5 shadows it."""
    require_sam3_env()
    result = run_probe(tmp_path, {})
    assert result.returncode == 0, result.stderr[-2000:]
    version, executable = result.stdout.split()
    assert version.startswith("5.") and ".venv-sam3" in executable


def test_no_sam3_env_says_how_to_get_one(tmp_path):
    result = run_probe(tmp_path, {SAM3_PYTHON: str(tmp_path / "missing" / "python")})
    assert result.returncode != 0
    assert "models.detector.backend: sam3 needs transformers 5" in result.stderr
    assert "make setup" in result.stderr
