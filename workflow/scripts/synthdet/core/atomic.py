"""Atomic writes: a later job never reads a half-written file or folder.

Files are written beside their destination and renamed into place; a folder is
filled under a staging name and renamed as a whole.
"""

import contextvars
import ctypes
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path


def temporary_path(path) -> Path:
    """Where `path` is written before its rename: a fixed name, so the rerun of a job
    killed mid-write overwrites (and so removes) what the killed write left."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp")


# Staging folders being filled: their files skip their own fsync (6 ms each, most of an
# export of a 100,000 small files) and the folder's filesystem is flushed once before its
# rename (staged_dir).
STAGES_BEING_FILLED = contextvars.ContextVar("stages_being_filled", default=())


def in_stage(path) -> bool:
    stages = STAGES_BEING_FILLED.get()
    return bool(stages) and any(parent in stages for parent in Path(path).parents)


def sync_filesystem(folder) -> None:
    """Flush the filesystem holding `folder` (Linux's syncfs; os.sync elsewhere)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
        if syncfs is None or syncfs(handle) != 0:
            os.sync()
    finally:
        os.close(handle)


def write_bytes(path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    tmp.unlink(missing_ok=True)  # a killed write's leftover: never appended to
    try:
        with open(tmp, "xb") as handle:  # the usual umask applies, as for any result
            handle.write(data)
            handle.flush()
            if not in_stage(path):
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path, data, compact=False) -> None:
    """Indented for files people read; compact for bulk data (candidates, labels).

    ASCII only (non-ASCII as \\u escapes): a reader that opens the file with its locale's
    default encoding, as Cosmos does its batch files, reads the same text under any locale.
    """
    if compact:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    else:
        text = json.dumps(data, indent=1, ensure_ascii=True)
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
    filling = STAGES_BEING_FILLED.set(STAGES_BEING_FILLED.get() + (stage,))
    try:
        yield stage
        sync_filesystem(stage)  # every file in it on disk before the rename
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        STAGES_BEING_FILLED.reset(filling)
    if final_dir.exists():
        shutil.rmtree(final_dir)
    os.replace(stage, final_dir)
