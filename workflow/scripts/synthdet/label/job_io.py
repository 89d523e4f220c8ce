"""What the image and the video labeling share: reading the batches, recording skipped
items, writing the candidates file, stage timings. The job body is label_job.run_job."""

import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from ..core import records
from ..core.manifest import made_items

log = logging.getLogger(__name__)


@dataclass
class Stopwatch:
    """Seconds spent per stage, to tell model time from everything else."""

    seconds: dict = field(default_factory=lambda: defaultdict(float))

    @contextlib.contextmanager
    def __call__(self, stage):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start


def made_with_seed(manifest_paths):
    """The made items of several batch manifests, each tagged with its batch's seed."""
    items = []
    for path in manifest_paths:
        batch = records.read_manifest(path, needs=("seed",))
        items += [{**item, "seed": batch["seed"]} for item in made_items(batch)]
    return items


def nothing_to_label(kind, out_path, classes):
    log.info("nothing to label: every item upstream was blocked or failed")
    result = {"kind": kind, "classes": list(classes), "items": [], "skipped": []}
    records.write_candidates(out_path, result)
    return result


def skip(skipped, item_id, path, problem):
    """Record an unreadable item; the job goes on with the others."""
    skipped.append({"id": item_id, "path": path, "reason": problem})
    log.warning("skipped %s: %s", path, problem)


def write_candidates(kind, out_path, models, items, skipped, count, start, watch):
    """Write a job's candidates file and log its figures."""
    result = {
        "kind": kind,
        "classes": list(models.ontology.classes),
        "items": items,
        "skipped": skipped,
    }
    with watch("cpu: write"):
        records.write_candidates(out_path, result)
    report(count, time.perf_counter() - start, models, watch)
    return result


def report(count, seconds, models, watch):
    rate = count / seconds if seconds else 0.0
    stages = ", ".join(f"{name} {value:.2f} s" for name, value in sorted(watch.seconds.items()))
    log.info("stages: %s", stages)
    log.info("model load %.1f s; items %d; %.2f items/s", models.load_seconds, count, rate)
