"""The settings of one GPU labeling job, typed and built once from the rule's params.

The rules pass `plan.candidate_settings` (a plain dict, so Snakemake compares it for
reruns as before); the entry script turns it into these records, and the labeling code
reads named fields instead of dict keys that travel through several files.
"""

from dataclasses import dataclass, fields, replace

from ..core.errors import ConfigError


@dataclass(frozen=True)
class CandidateSettings:
    """What the detector keeps of an image or keyframe, and how SAM 2 takes the boxes."""

    candidate_floor: float
    max_candidates: int
    # 0: all boxes of an image in one SAM 2 call; retries after CUDA OOM ask for fewer
    boxes_per_call: int = 0
    # images through the detector and SAM 2's encoder at once (labeling.batch_size; halved
    # by retries after CUDA OOM); video keyframes go one by one
    images_per_batch: int = 1


# Fields set from the rule's resources, not from its params (so not rerun triggers).
FROM_RESOURCES = ("boxes_per_call", "images_per_batch")


@dataclass(frozen=True)
class TrackingSettings:
    """labeling.video of the config: how videos are tracked between keyframes."""

    detect_every: int
    match_iou: float
    duplicate_iou: float
    switch_iou: float
    reverse: bool
    max_missed: int
    propagator: str


@dataclass(frozen=True)
class LabelSettings:
    """One job's settings: `tracking` is None for a job over images."""

    candidates: CandidateSettings
    tracking: TrackingSettings | None = None


def settings_of(record, params, where):
    """`record` (a dataclass) built from the keys of `params` it names; a missing key
    is a clear error naming it, keys of other records are left to them."""
    names = [f.name for f in fields(record) if f.name not in FROM_RESOURCES]
    missing = [name for name in names if name not in params]
    if missing:
        raise ConfigError(where, ", ".join(missing), "missing")
    return record(**{name: params[name] for name in names})


def label_settings(kind, params, boxes_per_call=0, images_per_batch=1):
    """The typed settings of a labeling job over `kind` ("images" or "videos") from the
    rule's `settings` param; `boxes_per_call` and `images_per_batch` from its resources."""
    if not isinstance(images_per_batch, int) or images_per_batch < 1:
        raise ConfigError(
            f"labeling settings of the {kind} job",
            "images_per_batch",
            f"{images_per_batch!r}: expected a whole number of at least 1",
        )
    if kind not in ("images", "videos"):
        raise ValueError(f"labeling job kind {kind!r}: expected 'images' or 'videos'")
    where = f"labeling settings of the {kind} job"
    known = {f.name for f in fields(CandidateSettings)} | {f.name for f in fields(TrackingSettings)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(where, ", ".join(unknown), "not a labeling job setting")
    candidates = replace(
        settings_of(CandidateSettings, params, where),
        boxes_per_call=boxes_per_call,
        images_per_batch=images_per_batch,
    )
    tracking = settings_of(TrackingSettings, params, where) if kind == "videos" else None
    return LabelSettings(candidates, tracking)
