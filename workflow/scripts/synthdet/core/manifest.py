"""Batch manifests: how a batch says which of its items exist.

Each item has an `id` (the prompt id) and a `status`:
  made     the file exists and decodes
  blocked  the generator wrote nothing (Cosmos's guardrail skips blocked prompts)
  failed   a file was written but is empty or broken, or a step failed for this item
  rejected the vision-language critic turned it down (only in the critic's manifests,
           results/<ds>/critic/<stage>/; label/media_critic.py)
A later stage reads only `made` items.
"""

MADE, BLOCKED, FAILED = "made", "blocked", "failed"
STATUSES = (MADE, BLOCKED, FAILED)
REJECTED = "rejected"  # not in STATUSES: only datasets with a media critic have it


def build(stage, dataset, seed, generator, items):
    counts = {status: 0 for status in STATUSES}
    for item in items:
        counts[item["status"]] += 1
    return {
        "stage": stage,
        "dataset": dataset,
        "seed": seed,
        "generator": generator,
        "counts": counts,
        "items": items,
    }


def made_items(manifest):
    return [item for item in manifest["items"] if item["status"] == MADE]
