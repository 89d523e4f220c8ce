"""The per-rule conda envs run the versions every test runs: each Python package an env
installs is pinned exactly as in requirements.txt (or requirements-build.txt)."""

import re

import pytest
import yaml

from conftest import ROOT

# Not Python packages of requirements.txt: the interpreter, pip, and conda's ffmpeg
# (the tests use imageio-ffmpeg's binary or the one on PATH).
NOT_FROM_REQUIREMENTS = {"python", "pip", "ffmpeg"}


def pins(path):
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            found[canonical(name)] = version
    return found


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


REQUIRED = {**pins(ROOT / "requirements.txt"), **pins(ROOT / "requirements-build.txt")}
# .venv-sam3/ (make setup): transformers 5 and what it needs in front of .venv/'s packages.
SAM3 = pins(ROOT / "requirements-sam3.txt")
# The envs whose pins come from requirements-sam3.txt first (SAM 3: transformers 5).
SAM3_ENVS = {"label-sam3.yaml"}


def required_for(path):
    return {**REQUIRED, **SAM3} if path.name in SAM3_ENVS else REQUIRED


def env_packages(env):
    """(name, spec) of every package: conda's `name =version` and pip's `name==version`."""
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            for requirement in entry["pip"]:
                name, _, version = requirement.partition("==")
                yield canonical(name), ("==", version)
        else:
            name, _, version = entry.partition(" ")
            yield canonical(name), ("conda", version.strip())


@pytest.mark.parametrize("path", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_are_the_tested_versions(path):
    env = yaml.safe_load(path.read_text())
    required = required_for(path)
    for name, (kind, version) in env_packages(env):
        if name in NOT_FROM_REQUIREMENTS:
            continue
        assert name in required, f"{path.name}: {name} is not pinned in requirements.txt"
        assert (kind, version) == (
            "==",
            required[name],
        ), f"{path.name}: {name} {kind} {version}, requirements.txt has =={required[name]}"


def test_sam3_env_is_transformers_5_over_the_one_torch():
    """SAM 3's env differs from .venv/ by transformers 5 (groundingdino-py's label.yaml
    keeps transformers < 5), and .venv-sam3/ installs no second torch."""
    assert int(SAM3["transformers"].split(".")[0]) >= 5
    assert int(REQUIRED["transformers"].split(".")[0]) < 5
    assert not {"torch", "torchvision", "numpy"} & set(SAM3)
    env = yaml.safe_load((ROOT / "envs" / "label-sam3.yaml").read_text())
    names = {name for name, _ in env_packages(env)}
    assert "groundingdino-py" not in names and "transformers" in names
