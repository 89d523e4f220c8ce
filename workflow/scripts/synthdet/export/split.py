"""The train/test split of a dataset's exports, by seed batch.

Every image of a seed batch, every video animated from those images and every frame cut
from those videos share one side: frames of one video are near-duplicates, so splitting
them apart would let test scores measure memory. A seed's side depends only on the seed
and the split's own seed (a hash, not a random generator's state), so adding seeds never
moves an existing one to the other side.
"""

import hashlib

TRAIN, TEST = "train", "test"


def seed_position(seed, split_seed):
    """A number in [0, 1) fixed by the two seeds alone."""
    digest = hashlib.sha256(f"split {split_seed} seed {seed}".encode()).hexdigest()
    return int(digest[:16], 16) / 2**64


def side_of_seed(seed, settings):
    """TEST for about `test_fraction` of the seeds, TRAIN for the others."""
    test = seed_position(seed, settings["seed"]) < settings["test_fraction"]
    return TEST if test else TRAIN


def split_items(items, settings):
    """{TRAIN: [...], TEST: [...]}, each in the order of `items`."""
    sides = {TRAIN: [], TEST: []}
    for item in items:
        sides[side_of_seed(item["seed"], settings)].append(item)
    return sides
