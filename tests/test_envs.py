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
    for name, (kind, version) in env_packages(env):
        if name in NOT_FROM_REQUIREMENTS:
            continue
        assert name in REQUIRED, f"{path.name}: {name} is not pinned in requirements.txt"
        assert (kind, version) == (
            "==",
            REQUIRED[name],
        ), f"{path.name}: {name} {kind} {version}, requirements.txt has =={REQUIRED[name]}"
