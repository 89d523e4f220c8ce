"""Reading what a Snakemake run did: its job counts and the checksums of its outputs."""

import hashlib
import re


def job_counts(output):
    table = output.split("Job stats:")[-1]
    return {
        name: int(count)
        for name, count in re.findall(r"^(\w+)\s+(\d+)$", table, re.M)
        if name != "total"
    }


EXPORTS = tuple(f"results/a/{name}/**/*" for name in ("voc", "edge_impulse", "coco", "mot", "yolo"))


def checksums(folder, patterns=("results/a/labels/*.json", *EXPORTS)):
    found = {}
    for pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            if path.is_file() and not path.name.startswith("."):
                found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
