"""Where SAM 3 jobs run: an interpreter with transformers 5, which cannot share .venv/
with groundingdino-py (it needs transformers < 5).

- With the conda profiles, the rule's env (envs/label-sam3.yaml) has it: nothing to do.
- With the default profile, Snakemake runs every `script:` with its own interpreter
  (.venv/'s). The entry script then re-executes itself, unchanged, under .venv-sam3/'s
  python (`make setup` builds it: transformers 5 in front of .venv/'s packages, one torch
  install). Snakemake's script file carries the job's `snakemake` object, so the second
  interpreter reads the same job; the job's process is the same (exec, not a child).
"""

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..core.errors import ConfigError

# Overrides the interpreter (default: .venv-sam3/bin/python beside the workflow).
SAM3_PYTHON = "SYNTHDET_SAM3_PYTHON"
# The checkout this package is in (workflow/scripts/synthdet/label/sam3_env.py).
REPO_ROOT = Path(__file__).resolve().parents[4]
# Set before re-executing: a second interpreter without transformers 5 stops, not loops.
REEXECUTED = "SYNTHDET_SAM3_REEXECUTED"


def has_transformers_5():
    try:
        return int(version("transformers").split(".")[0]) >= 5
    except PackageNotFoundError:
        return False


def sam3_python(repo_root=REPO_ROOT):
    return os.environ.get(SAM3_PYTHON) or str(Path(repo_root) / ".venv-sam3" / "bin" / "python")


def run_in_sam3_env(script, repo_root=REPO_ROOT):
    """Return when this interpreter has transformers 5; else replace this process by
    `script` run under the SAM 3 interpreter, or stop saying how to get one."""
    if has_transformers_5():
        return
    python = sam3_python(repo_root)
    if os.environ.get(REEXECUTED):
        raise RuntimeError(f"{python} was started for SAM 3 but has no transformers 5")
    if not Path(python).exists():
        raise ConfigError(
            "config",
            "models.detector.backend",
            f"sam3 needs transformers 5, which this Python ({sys.executable}) lacks, and there is "
            f"no {python}: run `make setup` (it builds .venv-sam3/), set {SAM3_PYTHON}, or "
            "use a conda profile (envs/label-sam3.yaml)",
        )
    os.environ[REEXECUTED] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(python, [python, script])
