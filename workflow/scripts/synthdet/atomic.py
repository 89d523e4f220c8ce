"""Atomic writes: a later job never reads a half-written file or folder.

Files are written beside their destination and renamed into place; a folder is
filled under a staging name and renamed as a whole.
"""

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes 0600 files; results on a shared cluster must be readable as usual.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path, data, compact=False) -> None:
    """Indented for files people read; compact for bulk data (candidates, labels).

    ensure_ascii=False keeps non-ASCII prompts byte for byte readable in the file.
    """
    if compact:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    else:
        text = json.dumps(data, indent=1, ensure_ascii=False)
    write_text(path, text + "\n")


@contextmanager
def replaced(path):
    """Yield a temporary path beside `path` for a library to write to (a plot, an image);
    it becomes `path` in one rename once written, and is removed if writing fails."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{path.suffix}")  # suffix: the format
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def staging_path(final_dir) -> Path:
    final_dir = Path(final_dir)
    return final_dir.with_name(f".{final_dir.name}.partial")


@contextmanager
def staged_dir(final_dir):
    """Yield an empty staging folder; on success it becomes `final_dir` in one rename.

    A staging folder left by a killed job is removed first, so it is never trusted.
    """
    final_dir = Path(final_dir)
    stage = staging_path(final_dir)
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if final_dir.exists():
        shutil.rmtree(final_dir)
    os.replace(stage, final_dir)
