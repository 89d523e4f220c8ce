"""Loading model files (checkpoints and the configs beside them) without running code.

A `.pth`/`.pt` file is a pickle: loaded with `weights_only=False` it may call any function
(a `__reduce__` that runs a shell command). Users download checkpoints from the internet,
so every checkpoint is loaded with `weights_only=True`: tensors, containers and plain
numbers only, plus the few extra types named below.

Extra types allowed, and why:
- `argparse.Namespace`: Open-GroundingDino's `main.py`, the training code users fine-tune
  Grounding DINO with, saves `{"model", "optimizer", "lr_scheduler", "epoch", "args"}`
  with `args` an `argparse.Namespace`. Unpickling one makes an empty object and sets its
  attributes, calling nothing; its values are held to the weights-only rules too.
The official `groundingdino_swint_ogc.pth` (694 MB: the float32 weights of the Swin-T
model alone, no optimizer state) was not opened here. Upstream's own loader,
`groundingdino.util.inference.load_model` (in GroundingDINO and in Grounded-SAM-2, which
builds for the RTX 5090 and so for torch >= 2.7), calls `torch.load(path,
map_location="cpu")`, which since torch 2.6 means `weights_only=True` with no extra
globals, and reads only its "model" entry: so it loads this way, and an `args` entry in
it would be covered by the Namespace above. SAM 2's checkpoints are `{"model": ...}`,
which sam2's own `build_sam` loads with `weights_only=True`.
"""

import argparse
import ast
import importlib
import inspect
import pickle
import re
from pathlib import Path

import torch

from ..core.errors import ConfigError
from ..core.names import excerpt

GROUNDINGDINO_EXTRA_TYPES = (argparse.Namespace,)


def load_weights(path, key, extra_types=()):
    """`torch.load(path)` on the CPU with weights_only=True and exactly `extra_types` allowed.

    A file that asks for anything else (a function call, an unknown class) is refused with
    a ConfigError naming `key` and the file; nothing in it runs."""
    try:
        with torch.serialization.safe_globals(list(extra_types)):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ConfigError(
            "config", key, f"{str(path)!r} is refused: {unpickler_reason(error)}"
        ) from None
    if not isinstance(state, dict) or "model" not in state:
        raise ConfigError("config", key, f"{str(path)!r} has no 'model' weights")
    return state


def unpickler_reason(error):
    """What the file asked for, from torch's message (whose advice to load it with
    weights_only=False, which would run the file's code, is left out)."""
    found = re.search(r"GLOBAL ([\w.]+)", str(error))
    if found:
        return f"it asks for {found.group(1)[:100]}, which is not weights (nothing was run)"
    return "it is not a weights-only checkpoint (nothing was run)"


def literal_python_config(path, key):
    """The settings of a Grounding DINO `.py` config, read without running it, and its text.

    groundingdino's SLConfig.fromfile imports the file as a module, so a config downloaded
    beside a checkpoint could run code. Upstream's configs (GroundingDINO_SwinT_OGC.py,
    _SwinB_cfg.py) are only `name = literal` lines; anything else (an import, a call, an
    expression) is refused naming the key, the file and the line."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as error:
        raise ConfigError(
            "config", key, f"{str(path)!r}: not Python (line {error.lineno})"
        ) from None
    settings = {}
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        settings.update(literal_assignment(node, path, key))
    return settings, text


def literal_assignment(node, path, key):
    """{name: value} for a `name = literal` statement; anything else is refused."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            try:
                return {target.id: ast.literal_eval(node.value)}
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                pass
    raise ConfigError(
        "config",
        key,
        f"{str(path)!r} line {node.lineno}: only `name = literal value` lines are read "
        "(the config is never run as code)",
    )


SAM2_MODULES = "sam2.modeling."


def check_sam2_model_config(model, path, key, where="model"):
    """Refuse a SAM 2 YAML that would build anything but SAM 2's own model classes.

    hydra builds every `_target_` of the YAML's `model`, so `_target_: os.system` in a
    downloaded config would run a command; each must name a class defined in a
    sam2.modeling module. `weights_path` (Hiera loads it with torch.load, from any URL
    iopath opens) is refused too: the weights come from models.sam2.checkpoint."""
    if isinstance(model, list):
        for index, node in enumerate(model):
            check_sam2_model_config(node, path, key, f"{where}.{index}")
        return
    if not isinstance(model, dict):
        return
    for name, node in model.items():
        here = f"{where}.{name}"
        if name == "_target_" and not is_sam2_class(node):
            refuse_sam2(path, key, here, f"{excerpt(node)} is not a SAM 2 model class")
        if name == "weights_path" and node is not None:
            refuse_sam2(path, key, here, "is not read: weights come from models.sam2.checkpoint")
        check_sam2_model_config(node, path, key, here)


def is_sam2_class(target):
    """`target` names a class defined in a sam2.modeling module (nothing reached through
    an attribute of one, such as its imported `torch`)."""
    module_name, _, name = str(target).rpartition(".")
    if not module_name.startswith(SAM2_MODULES):
        return False
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    found = getattr(module, name, None)
    return inspect.isclass(found) and found.__module__ == module_name


def refuse_sam2(path, key, where, problem):
    raise ConfigError("config", key, f"{str(path)!r}: {where}: {problem}")
