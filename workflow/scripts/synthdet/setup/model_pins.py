"""Which model files `fetch_models` downloads: the pins file, and the files the config's
`models:` names under the models folder. Planning only; downloads.py does the fetching."""

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from ..core.errors import ConfigError

SHA256 = re.compile(r"[0-9a-f]{64}")
# Keys of `models:` that never name a file.
NOT_PATHS = {"device", "backend", "folder", "pins", "image_size"}


@dataclass(frozen=True)
class Pin:
    """One pinned file: where it comes from and the SHA-256 it must have."""

    name: str  # its path under the models folder
    sha256: str
    url: str = None  # a release URL, or:
    hub: str = None  # a Hugging Face repository, with revision and file
    revision: str = None
    file: str = None
    gated: str = None  # the licence page to accept before the hub serves the file
    size: int = None


def read_pins(path):
    """The pins file as {name: Pin}; a malformed entry stops with the file and the entry named."""
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    files = data.get("files")
    if not isinstance(files, dict) or not files:
        raise ConfigError(path, "files", "expected a mapping of file names to pins")
    return {name: checked_pin(path, name, entry) for name, entry in files.items()}


def checked_pin(path, name, entry):
    key = f"files.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(path, key, "expected a mapping")
    if not SHA256.fullmatch(str(entry.get("sha256", ""))):
        raise ConfigError(path, f"{key}.sha256", "expected 64 lowercase hex digits")
    from_hub = all(entry.get(k) for k in ("hub", "revision", "file"))
    if bool(entry.get("url")) == from_hub:
        raise ConfigError(path, key, "expected either `url` or all of `hub`, `revision`, `file`")
    unsafe = PurePosixPath(name)
    if unsafe.is_absolute() or ".." in unsafe.parts:
        raise ConfigError(path, key, "a pin's name must stay inside the models folder")
    known = {k: entry.get(k) for k in ("url", "hub", "revision", "file", "gated", "size")}
    return Pin(name=name, sha256=entry["sha256"], **known)


def named_paths(models, prefix="models"):
    """(config key, value) of every string under `models:` that may name a file or folder."""
    for key, value in models.items():
        if key in NOT_PATHS:
            continue
        if isinstance(value, dict):
            yield from named_paths(value, f"{prefix}.{key}")
        elif isinstance(value, str):
            yield f"{prefix}.{key}", value


def under_folder(value, folder):
    """`value`'s path inside `folder` (POSIX, relative), or None when it lies elsewhere."""
    try:
        inside = Path(value).resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return None
    return inside.as_posix()


def pins_to_fetch(models, pins, pins_path, root="."):
    """The pins the config's `models:` names, in pins-file order.

    A path under the models folder names a pinned file, or a folder of pinned files (a
    text encoder). A path there with no pin is refused while it is missing (there is no
    hash to check it against) and left alone when it is already in place.
    """
    folder = Path(root) / models.get("folder", "checkpoints")
    wanted = set()
    for key, value in named_paths(models):
        inside = under_folder(Path(root) / value, folder)
        if inside is None:
            continue  # a file of your own, or a name such as sam2.1_hiera_l
        matches = [n for n in pins if n == inside or n.startswith(inside.rstrip("/") + "/")]
        if not matches and not (Path(root) / value).exists():
            raise ConfigError(
                "config",
                key,
                f"{value}: {pins_path} pins no file there, so fetch_models cannot download it "
                "(it downloads only files with a published SHA-256). Pin it (docs/models.md, "
                "'Pinning another file') or put the file there yourself.",
            )
        wanted.update(matches)
    return [pins[name] for name in pins if name in wanted]
