import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from synthdet.core.retries import boxes_per_call, images_per_batch
from synthdet.label import label_validator, media_critic
from synthdet.setup import plan
from synthdet.setup.config import check_site_settings, checked_config, config_source

# Validate once at start: a bad config stops here with the file and key named.
CHECKED_CONFIG, TEMPLATES = checked_config(config, config_source(workflow.configfiles))
config.update(CHECKED_CONFIG)
DATASETS = list(config["datasets"])


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_-]*",
    seed=r"\d+",
    part=r"\d+",
    shard=r"\d+",


def dataset(wildcards):
    return config["datasets"][wildcards.dataset]


# The planning lives in synthdet/setup/plan.py (unit-tested); these wire it to wildcards.
def planned(function, *args):
    """An input or params function: `function(*args, name, ds)` of the wildcards' dataset."""
    return lambda wildcards: function(*args, wildcards.dataset, dataset(wildcards))


def in_part(function, *args):
    """The same for a labeling part: `function(*args, name, ds, part)`."""
    return lambda wildcards: function(*args, wildcards.dataset, dataset(wildcards), wildcards.part)


def in_shard(function, *args):
    """The same for an export shard: `function(*args, name, ds, shard)`."""
    return lambda wildcards: function(*args, wildcards.dataset, dataset(wildcards), wildcards.shard)


def with_template(function, *args):
    return lambda wildcards: function(*args, dataset(wildcards), TEMPLATES[wildcards.dataset])


def of_dataset(function, *args):
    return lambda wildcards: function(*args, dataset(wildcards))


def setting(*keys):
    """A params function: the wildcards' dataset's value at `keys` of its (checked,
    defaulted) config. Per-seed and per-part rules use it rather than
    lookup(dpath=...), whose search of the whole config on every call cost 5-7% of
    planning 100,000 images (docs/performance.md)."""

    def value(wildcards):
        found = dataset(wildcards)
        for key in keys:
            found = found[key]
        return found

    return value


def get_augment_request(wildcards):
    name = wildcards.dataset
    return plan.augment_request(name, dataset(wildcards), TEMPLATES[name])


def get_prompt_spec(wildcards):
    return plan.prompt_spec(TEMPLATES[wildcards.dataset])


def get_classes(wildcards):
    return TEMPLATES[wildcards.dataset]["classes"]


def get_label_models(wildcards):
    return plan.label_models(config["models"], dataset(wildcards))


def get_label_env(wildcards):
    """SAM 3 labels in its own env (transformers 5), the other detectors in label.yaml."""
    return plan.label_env(config["models"])


def get_sam3_smoke_inputs(wildcards):
    return plan.sam3_smoke_inputs(config["models"], dataset(wildcards))


def get_sam2_boxes_per_call(wildcards, attempt):
    """A resource, not a param: a retry after CUDA out-of-memory uses smaller SAM 2 calls
    (0 means all boxes of an image in one call) without being a rerun trigger."""
    return boxes_per_call(attempt)


def get_critic_inputs(wildcards):
    return plan.critic_inputs(
        wildcards.dataset, dataset(wildcards), wildcards.stage, wildcards.seed
    )


def get_media_request(wildcards):
    return plan.media_request(dataset(wildcards), media_critic.DEFAULT_PROMPT)


def get_validator_request(wildcards):
    return plan.validator_request(dataset(wildcards), label_validator.DEFAULT_PROMPT)


def get_label_batch_size(wildcards, attempt):
    """A resource, not a param, for the same reasons: batched and one-by-one candidates
    agree (tests/test_batched_detection.py), so the batch size is no rerun trigger."""
    return images_per_batch(attempt, dataset(wildcards)["labeling"]["batch_size"])
