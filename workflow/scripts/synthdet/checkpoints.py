"""Loading model checkpoints without running code from them.

A `.pth`/`.pt` file is a pickle: loaded with `weights_only=False` it may call any function
(a `__reduce__` that runs a shell command). Users download checkpoints from the internet,
so every checkpoint is loaded with `weights_only=True`: tensors, containers and plain
numbers only, plus the few extra types named below.

Extra types allowed, and why:
- `argparse.Namespace`: the DINO-family training code that writes Grounding DINO
  checkpoints (IDEA-Research's DINO `main.py`, Open-GroundingDino's `main.py`, what users
  fine-tune with) saves `{"model", "optimizer", "lr_scheduler", "epoch", "args"}` with
  `args` an `argparse.Namespace`. Unpickling one sets attributes on an empty object and
  calls nothing; its values are themselves held to the weights-only rules.
The official `groundingdino_swint_ogc.pth` itself needs nothing extra: upstream's own
`groundingdino.util.inference.load_model` (GroundingDINO and Grounded-SAM-2, whose RTX
5090 build needs torch >= 2.7) calls `torch.load(path, map_location="cpu")`, which on
torch >= 2.6 is `weights_only=True` with no extra globals. SAM 2's checkpoints are
`{"model": state_dict}` and sam2's own `build_sam` loads them with `weights_only=True`.
"""

import argparse
import pickle
import re

import torch

from .errors import ConfigError

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
