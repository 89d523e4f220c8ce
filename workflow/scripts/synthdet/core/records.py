"""The files stages hand each other: batch manifests, candidates, labels.

Each kind has one writer and one reader here, and a TypedDict that says its shape (the
keys its writer writes). A reader checks the top-level keys its caller needs, so a file
from an older version of the workflow, or a truncated one, fails naming the file and the
key instead of with a bare KeyError deep in a later stage.
"""

from typing import Dict, List, Optional, TypedDict

from .atomic import read_json, write_json


class ManifestItem(TypedDict, total=False):
    """One item of a batch manifest; `id`, `status` and `path` (or `video` and
    `frames_dir` for frames) always, the rest by stage and status."""

    id: str
    status: str  # manifest.MADE, BLOCKED or FAILED
    reason: str  # blocked or failed only
    prompt: str  # text2image, video2world
    path: str  # text2image, video2world
    width: int  # text2image, made
    height: int
    ground_truth: list  # procedural images: objects; procedural frames: objects per frame
    input_image: str  # video2world
    fps: float  # video2world, frames (made)
    frames_expected: int  # video2world, made
    ground_truth_frames: list  # procedural videos
    video: str  # frames
    frames_dir: str  # frames
    frames: List[dict]  # frames, made: {"file", "source_index"}
    warning: str  # frames: fewer frames decoded than expected


class Manifest(TypedDict):
    stage: str  # text2image, video2world, frames
    dataset: str
    seed: int
    generator: str
    counts: Dict[str, int]  # status -> items
    items: List[ManifestItem]


class Skipped(TypedDict):
    id: str
    path: str
    reason: str


class Candidate(TypedDict):
    """One box of an image (box in pixels, scores per class, its SAM 2 mask as RLE)."""

    box: List[float]
    scores: List[float]
    mask: dict
    mask_box: List[float]
    mask_area: int
    mask_score: float


class ImageItem(TypedDict):
    id: str
    seed: int
    image: str
    width: int
    height: int
    candidates: List[Candidate]


class MaskRecord(TypedDict):
    """A track's mask on one frame."""

    mask: dict
    box: List[float]
    area: int


class Window(TypedDict):
    """Frames a detection (or, with detection None, a carried track) vouches for."""

    first: int
    last: int
    detection: Optional[int]  # index into the track's scores


class Track(TypedDict):
    track: int
    scores: List[List[float]]
    detected_at: List[int]
    windows: List[Window]
    masks: Dict[str, MaskRecord]  # frame number (as text) -> mask


class VideoItem(TypedDict):
    id: str
    seed: int
    frames_dir: str
    frames: List[dict]
    width: int
    height: int
    max_missed: int
    tracks: List[Track]


class Candidates(TypedDict):
    kind: str  # images or videos
    classes: List[str]
    items: list  # ImageItem for images, VideoItem for videos
    skipped: List[Skipped]


# Functional form: `class` is a Python keyword. `track` is on frame objects only.
LabeledObject = TypedDict(
    "LabeledObject",
    {"class": str, "score": float, "box": List[float], "mask": dict, "track": int},
    total=False,
)


class LabeledItem(TypedDict, total=False):
    id: str
    kind: str  # image or frame
    seed: int
    image: str
    width: int
    height: int
    objects: List[LabeledObject]
    video: str  # frames only
    source_index: int  # frames only


class Labels(TypedDict):
    dataset: str
    part: int
    classes: List[str]
    thresholds: dict
    objects: int
    items: List[LabeledItem]
    skipped: List[Skipped]


# What every reader of a kind uses; a caller that needs more names it in `needs`.
MANIFEST_NEEDS = ("items",)
CANDIDATES_NEEDS = ("classes", "items", "skipped")
LABELS_NEEDS = ("classes", "items", "skipped")


def checked(path, data, what, needs):
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a {what} file (a JSON object expected)")
    for key in needs:
        if key not in data:
            raise ValueError(
                f"{path}: {what} file without '{key}' (truncated, or made by an older "
                "version of this workflow: make it again)"
            )
    return data


def read_manifest(path, needs=()) -> Manifest:
    return checked(path, read_json(path), "batch manifest", MANIFEST_NEEDS + tuple(needs))


def read_candidates(path, needs=()) -> Candidates:
    return checked(path, read_json(path), "candidates", CANDIDATES_NEEDS + tuple(needs))


def read_labels(path, needs=()) -> Labels:
    return checked(path, read_json(path), "labels", LABELS_NEEDS + tuple(needs))


def write_manifest(path, manifest: Manifest) -> None:
    write_json(path, manifest)  # indented: people read manifests


def write_candidates(path, candidates: Candidates) -> None:
    write_json(path, candidates, compact=True)  # bulk data


def write_labels(path, labels: Labels) -> None:
    write_json(path, labels, compact=True)  # bulk data
