"""What every export shares: one export name per labeled image or frame, and the labeled
items read back in a stable order (also read by qa, stats, evaluation and tune).

The name is `seed<S>_<prompt id>.jpg` for an image, `seed<S>_<prompt id>_f<frame>.jpg` for
a frame. Such a name never holds `train`, `test` or `val` (prompt ids are hex), which Edge
Impulse's uploader would otherwise read as a split. No file holds a path outside its export
folder, so the exports are the same wherever the checkout lives.
"""

import hashlib
import logging
import os
import shutil
from pathlib import Path

from ..core.records import read_labels
from . import identity

EMPTY_SKIP, EMPTY_UNLABELED = "skip", "unlabeled"

# Entries in one folder past which shared cluster filesystems (Lustre, NFS) slow down.
CROWDED_FOLDER = 10_000

log = logging.getLogger(__name__)


def warn_if_crowded(folder, entries):
    """A warning in the job's log when an export folder holds too many entries."""
    if entries > CROWDED_FOLDER:
        log.warning(
            "%s holds %d entries (more than %d slow down shared filesystems): export in "
            "shards with exports.shard_parts (docs/exports.md)",
            folder,
            entries,
            CROWDED_FOLDER,
        )


def export_name(item):
    if item["kind"] == "frame":
        return f"seed{item['seed']}_{item['video']}_f{Path(item['image']).stem}.jpg"
    return f"seed{item['seed']}_{item['id']}.jpg"


def labeled_items(label_paths):
    """Every labeled item of the dataset, in a stable order, with the class list."""
    items, classes = [], None
    for path in label_paths:
        labels = read_labels(path)
        classes = labels["classes"] or classes
        items += labels["items"]
    return sorted(items, key=export_name), classes or []


def box_source(label_paths):
    """Where the labels' boxes come from: `box_from` of the thresholds that made them."""
    sources = {
        read_labels(path, needs=("thresholds",))["thresholds"]["box_from"] for path in label_paths
    }
    return sources.pop() if len(sources) == 1 else "mask"


def kept_items(items, empty_images):
    """The items every format exports: with `skip`, items with no object are left out."""
    if empty_images == EMPTY_SKIP:
        return [item for item in items if item["objects"]]
    return items


def exported_items(label_paths, empty_images):
    items, classes = labeled_items(label_paths)
    return kept_items(items, empty_images), classes


def link_or_copy(source, target):
    """A hard link where the filesystem allows it (no extra space), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def stable_image_id(name):
    """An image id that depends only on the export name: the same across reruns."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:13], 16)  # < 2**53: safe in JSON


def dataset_ids(items, shard=0):
    """Video and track ids over every labeled item of the shard (`identity.py`), before any
    is left out: the same numbering in every export, on both sides."""
    return {"videos": identity.video_ids(items, shard), "tracks": identity.track_ids(items, shard)}
