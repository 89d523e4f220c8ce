"""Recognising a Cosmos-Predict2.5 checkout before any job runs (`cosmos.release`).

The workflow writes the params file of the 2025-10-06 release (commit 50369b8). Later
releases changed it (one sample per file, other flags), and an old params file there would
fail on the GPU node at best: the checkout's cosmos_predict2/config.py is read (never run)
to refuse them with a message instead.
"""

import ast
from pathlib import Path

SUPPORTED = "Cosmos-Predict2.5 of 2025-10-06 (commit 50369b8), whose params file holds `samples`"
# The InferenceArguments fields the params file uses; `samples` must be a dict of samples.
PARAMS_FIELDS = (
    "inference_type",
    "samples",
    "negative_prompt",
    "seed",
    "guidance",
    "resolution",
    "num_output_frames",
)


def release_problem(workdir):
    """Why the checkout at `workdir` is not a supported Predict2.5 release, or None.

    Reads (never runs) cosmos_predict2/config.py: its InferenceArguments must declare every
    field the params file uses, with `samples` a dict. Later releases take one sample per
    params file (a `name`, no `samples`) and are refused here, before any GPU job."""
    workdir = Path(workdir)
    config, script = (
        workdir / "cosmos_predict2" / "config.py",
        workdir / "examples" / "inference.py",
    )
    for path in (config, script):
        if not path.is_file():
            return f"{path} is missing: {workdir} is not a Cosmos-Predict2.5 checkout"
    try:
        fields = class_fields(ast.parse(config.read_text(encoding="utf-8")), "InferenceArguments")
    except (SyntaxError, UnicodeDecodeError) as error:
        return f"{config} cannot be read: {error}"
    if fields is None:
        return f"{config} defines no InferenceArguments"
    missing = [name for name in PARAMS_FIELDS if name not in fields]
    if missing or not fields["samples"].startswith("dict["):
        found = ", ".join(sorted(fields)) or "none"
        return (
            f"{config}: InferenceArguments has the fields {found}, not the params format this "
            f"workflow writes (a later release with one sample per file?); supported: {SUPPORTED}"
        )
    return None


def class_fields(tree, name):
    """{field: annotation source} of class `name` in a parsed module, or None."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return {
                item.target.id: ast.unparse(item.annotation)
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            }
    return None
