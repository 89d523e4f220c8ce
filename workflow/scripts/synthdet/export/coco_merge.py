"""One COCO file per side of a dataset exported in shards, streamed from the shards' files.

Each shard's coco/shard<N>/ is a COCO dataset of its own (annotations/instances_<side>.json,
images/<side>/). The dataset-wide coco/annotations/instances_<side>.json holds every
shard's videos, images and annotations; a `file_name` there is relative to coco/
(`shard<N>/images/<side>/<name>`). Shards are read one at a time and their entries written
out at once, so memory holds one shard, never the dataset: the videos, images and
annotations go to three scratch files that are joined into the merged file at the end.
Image, video and track ids are already unique in the dataset (`identity.py`); annotation
ids are renumbered from 1 across the shards.
"""

import json
import os
import shutil
from pathlib import Path

from ..core.atomic import read_json, replaced

SECTIONS = ("videos", "images", "annotations")


def shard_file(shard_dir, side):
    return Path(shard_dir) / "annotations" / f"instances_{side}.json"


def read_shard(shard_dir, side):
    """A shard's COCO file, checked for the keys the merge uses."""
    path = shard_file(shard_dir, side)
    coco = read_json(path)
    missing = [key for key in ("info", "categories", *SECTIONS) if key not in coco]
    if missing:
        raise ValueError(f"{path}: not a COCO file of this workflow (no {', '.join(missing)})")
    return coco


def entry_text(entry):
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=True)


class SectionWriter:
    """A JSON array written one entry at a time to a scratch file."""

    def __init__(self, path):
        self.path, self.count = path, 0
        self.handle = open(path, "w", encoding="ascii")

    def add(self, entry):
        self.handle.write(("," if self.count else "") + entry_text(entry))
        self.count += 1

    def close(self):
        self.handle.close()


def add_shard(coco, shard_dir, side, writers):
    """Append one shard's entries; annotation ids continue the merged numbering."""
    prefix = f"{Path(shard_dir).name}/images/{side}/"
    for video in coco["videos"]:
        writers["videos"].add(video)
    for image in coco["images"]:
        writers["images"].add({**image, "file_name": prefix + image["file_name"]})
    for annotation in coco["annotations"]:
        writers["annotations"].add({**annotation, "id": writers["annotations"].count + 1})


def check_same_categories(first, coco, shard_dir, side):
    if coco["categories"] != first["categories"]:
        raise ValueError(
            f"{shard_file(shard_dir, side)}: its categories differ from the first shard's "
            "(the shards were labeled with different classes: export them again)"
        )


def join_sections(out_path, head, scratch):
    """Write `head` (info, categories) and the three arrays into `out_path` atomically."""
    with replaced(out_path) as temporary:
        with open(temporary, "w", encoding="ascii") as out:
            out.write(entry_text(head)[:-1])
            for section in SECTIONS:
                out.write(f',"{section}":[')
                with open(scratch[section], encoding="ascii") as part:
                    shutil.copyfileobj(part, out)
                out.write("]")
            out.write("}\n")
            out.flush()
            os.fsync(out.fileno())


def merge_side(shard_dirs, side, out_path, description):
    """coco/annotations/instances_<side>.json from every shard's. Returns the counts."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    scratch = {s: out_path.with_name(f".{out_path.stem}.{s}.tmp") for s in SECTIONS}
    writers = {section: SectionWriter(path) for section, path in scratch.items()}
    first = None
    try:
        for shard_dir in shard_dirs:
            coco = read_shard(shard_dir, side)
            first = first or coco
            check_same_categories(first, coco, shard_dir, side)
            add_shard(coco, shard_dir, side, writers)
            del coco  # one shard in memory at a time
        for writer in writers.values():
            writer.close()
        info = {**(first["info"] if first else {}), "description": description}
        head = {"info": info, "categories": first["categories"] if first else []}
        join_sections(out_path, head, scratch)
    finally:
        for writer in writers.values():
            writer.close()
        for path in scratch.values():
            path.unlink(missing_ok=True)
    return {section: writer.count for section, writer in writers.items()}
