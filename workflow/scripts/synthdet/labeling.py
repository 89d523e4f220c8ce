"""The GPU labeling jobs: Grounding DINO + SAM 2 loaded once, then every image or video.

Images: every box whose best class score reaches `candidate_floor` (at most
`max_candidates` per image) is kept with its per-class scores, and SAM 2 segments all of
them in one call per image. Videos: detection every `detect_every` frames, SAM 2's video
predictor tracks the objects with continuous ids. Nothing is thresholded above the floor
here: that is the CPU filter's job, so a threshold tweak never reruns this.
"""

import contextlib
import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from . import boxes as box_ops
from . import ontology, rle, tracking
from .atomic import read_json, write_json
from .detectors import autocast, configure_cuda, load_detector, pick_device
from .manifest import made_items
from .prefetch import decode_rgb, prefetched
from .sam2_models import image_predictor, load_sam2

log = logging.getLogger(__name__)

SMOKE_WARNING = "smoke models: random weights, labels are meaningless"


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


@dataclass
class Models:
    detector: object
    sam2: object
    predictor: object
    ontology: object
    phrase_tokens: list
    device: object
    load_seconds: float


def use_devices(devices):
    """Pin this job to its leased GPUs (before CUDA starts); None leaves the choice as is."""
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices


def load_models(settings, classes):
    """Load the detector and SAM 2 once; called once per job."""
    if settings.get("smoke"):
        log.warning("%s", SMOKE_WARNING)
    start = time.perf_counter()
    device = pick_device(settings.get("device", "auto"))
    configure_cuda(device)
    detector = load_detector(settings["detector"], device)
    sam2 = load_sam2(settings["sam2"]["config"], settings["sam2"]["checkpoint"], device)
    onto = ontology.build(classes)
    tokens = ontology.phrase_tokens(onto, detector.token_offsets(onto.caption))
    seconds = time.perf_counter() - start
    log.info("models loaded on %s in %.1f s; caption %r", device, seconds, onto.caption)
    return Models(detector, sam2, image_predictor(sam2), onto, tokens, device, seconds)


def detect(models, image, settings, watch):
    """Candidates of one RGB image: pixel boxes and per-class scores above the floor."""
    with watch("detector"):
        found = models.detector.detect(image, models.ontology.caption)
    with watch("cpu: scores and boxes"):
        scores = ontology.class_scores(found.token_probs, models.ontology, models.phrase_tokens)
        best = scores.max(axis=1)
        order = np.argsort(-best, kind="stable")[: settings["max_candidates"]]
        order = order[best[order] >= settings["candidate_floor"]]
        height, width = image.shape[:2]
        pixel_boxes = box_ops.cxcywh_to_xyxy(found.boxes_cxcywh[order], width, height)
    return pixel_boxes, scores[order]


# Test hook, named as one: raise a CUDA out-of-memory error, on any device, when one
# SAM 2 call gets more boxes than this. It lets tests drive the real retry path on a CPU.
SIMULATE_OOM_ABOVE = "SYNTHDET_SIMULATE_OOM_ABOVE_BOXES"


def segment(models, image, pixel_boxes, watch, per_call=None):
    """SAM 2 on the boxes of an image: one call for all of them, or `per_call` at a time
    when a retry after running out of GPU memory asks for less.

    Returns (runs, scores): each mask as the run lengths of its column-major pixels, the
    uncompressed form of COCO RLE. predict() would hand back float32 (N, H, W) masks, 4
    bytes a pixel to move to the host and then scan there; the steps of predict() used
    here (sam2 1.1.0) keep the masks on the device, where the runs are found, and only
    the short run lists cross to the host.
    """
    if len(pixel_boxes) == 0:
        return [], np.zeros(0)
    per_call = per_call or len(pixel_boxes)
    oom_above = os.environ.get(SIMULATE_OOM_ABOVE)
    runs, scores = [], []
    predictor = models.predictor
    with watch("sam2"), torch.inference_mode(), autocast(models.device):
        predictor.set_image(image)
        for start in range(0, len(pixel_boxes), per_call):
            chunk = pixel_boxes[start : start + per_call]
            if oom_above is not None and len(chunk) > int(oom_above):
                raise torch.cuda.OutOfMemoryError(f"simulated: {len(chunk)} boxes in one SAM 2 call")
            _, coords, labels, box = predictor._prep_prompts(None, None, chunk, None, True)
            masks, chunk_scores, _ = predictor._predict(coords, labels, box, None, multimask_output=False)
            runs += column_major_runs(masks[:, 0])
            scores.append(chunk_scores[:, 0].float().cpu().numpy())
    return runs, np.concatenate(scores)


def column_major_runs(masks):
    """(N, H, W) bool tensor -> N arrays of run lengths over each mask's pixels in
    column-major order, starting with a run of zeros (COCO's uncompressed RLE)."""
    count = masks.shape[0]
    flat = masks.transpose(1, 2).reshape(count, -1)
    length = flat.shape[1]
    changes = torch.nonzero(flat[:, 1:] != flat[:, :-1]).cpu().numpy()
    starts_on = flat[:, 0].cpu().numpy()
    rows, edges = changes[:, 0], changes[:, 1] + 1
    runs = []
    for index, inner in enumerate(np.split(edges, np.searchsorted(rows, np.arange(1, count)))):
        counts = np.diff(np.concatenate(([0], inner, [length])))
        runs.append(np.concatenate(([0], counts)) if starts_on[index] else counts)
    return runs


def rounded(values, digits=2):
    return [round(float(v), digits) for v in values]


def candidate_records(pixel_boxes, scores, runs, mask_scores, height, width):
    """The candidates of one image as stored: the CPU work after the forward passes."""
    encoded = rle.from_runs(runs, height, width)
    return [
        {"box": rounded(box), "scores": rounded(class_scores, 4), "mask": mask,
         "mask_box": rounded(mask_box), "mask_area": area, "mask_score": round(float(ms), 4)}
        for box, class_scores, (mask, area, mask_box), ms
        in zip(pixel_boxes, scores, encoded, mask_scores)
    ]  # fmt: skip


def image_candidates(models, image, settings, watch):
    pixel_boxes, scores = detect(models, image, settings, watch)
    runs, mask_scores = segment(models, image, pixel_boxes, watch, settings.get("boxes_per_call"))
    with watch("cpu: masks to RLE"):
        height, width = image.shape[:2]
        return candidate_records(pixel_boxes, scores, runs, mask_scores, height, width)


def made_with_seed(manifest_paths):
    """The made items of several batch manifests, each tagged with its batch's seed."""
    items = []
    for path in manifest_paths:
        batch = read_json(path)
        items += [{**item, "seed": batch["seed"]} for item in made_items(batch)]
    return items


def loaded(models):
    """`models`, or the models a zero-argument loader gives: a job with nothing to label
    never loads them."""
    return models() if callable(models) else models


def nothing_to_label(kind, out_path, settings):
    log.info("nothing to label: every item upstream was blocked or failed")
    result = {"kind": kind, "classes": settings["classes"], "items": [], "skipped": []}
    write_json(out_path, result, compact=True)
    return result


def skip(skipped, item_id, path, problem):
    """Record an unreadable item; the job goes on with the others."""
    skipped.append({"id": item_id, "path": path, "reason": problem})
    log.warning("skipped %s: %s", path, problem)


def write_candidates(kind, out_path, models, items, skipped, count, start, watch):
    """Write a job's candidates file and log its figures."""
    result = {"kind": kind, "classes": list(models.ontology.classes), "items": items,
              "skipped": skipped}  # fmt: skip
    with watch("cpu: write"):
        write_json(out_path, result, compact=True)
    report(count, time.perf_counter() - start, models, watch)
    return result


def label_images(manifest_paths, out_path, settings, models, progress):
    """One GPU job over the images of several seed batches -> one candidates file."""
    watch, items, skipped = Stopwatch(), [], []
    images = made_with_seed(manifest_paths)
    if not images:
        return nothing_to_label("images", out_path, settings)
    models = loaded(models)
    start = time.perf_counter()
    stream = prefetched(images, lambda item: item["path"])
    for item, image, problem in tqdm(stream, total=len(images), file=progress, mininterval=5):
        if problem:
            skip(skipped, item["id"], item["path"], problem)
            continue
        candidates = image_candidates(models, image, settings, watch)
        height, width = image.shape[:2]
        items.append({"id": item["id"], "seed": item["seed"], "image": item["path"],
                      "width": width, "height": height, "candidates": candidates})  # fmt: skip
    return write_candidates("images", out_path, models, items, skipped, len(images), start, watch)


def report(count, seconds, models, watch):
    rate = count / seconds if seconds else 0.0
    stages = ", ".join(f"{name} {value:.2f} s" for name, value in sorted(watch.seconds.items()))
    log.info("stages: %s", stages)
    log.info(
        "model load %.1f s; items %d; %.2f items/s", models.load_seconds, count, rate
    )


def mask_records(runs, height, width):
    """Run lists -> {"mask": RLE, "box", "area"} records (the stored form of a mask)."""
    return [
        {"mask": encoded, "box": rounded(box), "area": area}
        for encoded, area, box in rle.from_runs(runs, height, width)
    ]


class Sam2Propagator:
    """SAM 2's video predictor over one folder of frames (00000.jpg, ...). Masks go in
    and come out as RLE records, so a long video never holds dense masks for every
    track and frame."""

    def __init__(self, models, frames_dir, height, width):
        self.models, self.height, self.width = models, height, width
        with torch.inference_mode(), autocast(models.device):
            self.state = models.sam2.init_state(
                video_path=str(frames_dir), offload_video_to_cpu=True, offload_state_to_cpu=True
            )

    @torch.inference_mode()
    def __call__(self, start, seeds, count, reverse):
        sam2, state = self.models.sam2, self.state
        with autocast(self.models.device):
            sam2.reset_state(state)
            for track_id, record in seeds.items():
                mask = rle.decode(record["mask"])
                sam2.add_new_mask(state, frame_idx=start, obj_id=int(track_id), mask=mask)
            result = {}
            for frame, ids, logits in sam2.propagate_in_video(
                state, start_frame_idx=start, max_frame_num_to_track=count, reverse=reverse
            ):
                records = mask_records(column_major_runs(logits[:, 0] > 0), self.height, self.width)
                result[frame] = {int(i): records[n] for n, i in enumerate(ids)}
        return result


def record_iou(records_a, records_b):
    return rle.iou_matrix([r["mask"] for r in records_a], [r["mask"] for r in records_b])


def unreadable_frame(frames_dir, frames):
    """Why a video's frames cannot all be read (SAM 2 loads every one), or None."""
    for frame in frames:
        _, problem = decode_rgb(Path(frames_dir) / frame["file"])
        if problem:
            return f"frame {frame['file']}: {problem}"
    return None


def video_tracks(models, entry, settings, watch):
    frames_dir = Path(entry["frames_dir"])
    files = [frame["file"] for frame in entry["frames"]]
    height, width = entry["height"], entry["width"]

    def detect_frame(index):
        image, _ = decode_rgb(frames_dir / files[index])
        pixel_boxes, scores = detect(models, image, settings, watch)
        runs, _ = segment(models, image, pixel_boxes, watch, settings.get("boxes_per_call"))
        records = mask_records(runs, height, width)
        return [(rounded(s, 4), r) for s, r in zip(scores, records) if r["area"] > 0]

    with watch("sam2 video"):
        propagate = Sam2Propagator(models, frames_dir, height, width)
        tracks = tracking.track_video(
            len(files), detect_frame, propagate, settings["detect_every"],
            settings["match_iou"], settings["reverse"],
            iou=record_iou, present=lambda record: record["area"] > 0,
        )  # fmt: skip
    return [
        {"track": track_id, "scores": track["scores"], "detected_at": track["detected_at"],
         "masks": {str(f): m for f, m in sorted(track["masks"].items())}}
        for track_id, track in sorted(tracks.items())
    ]  # fmt: skip


def label_videos(manifest_paths, out_path, settings, models, progress):
    """One GPU job over the videos (as frames) of several seed batches."""
    watch, items, skipped = Stopwatch(), [], []
    videos = made_with_seed(manifest_paths)
    if not videos:
        return nothing_to_label("videos", out_path, settings)
    models = loaded(models)
    start = time.perf_counter()
    for entry in tqdm(videos, file=progress, mininterval=5):
        problem = unreadable_frame(entry["frames_dir"], entry["frames"])
        if problem:
            skip(skipped, entry["id"], entry["frames_dir"], problem)
            continue
        with Image.open(Path(entry["frames_dir"]) / entry["frames"][0]["file"]) as first:
            width, height = first.size
        entry = {**entry, "width": width, "height": height}
        tracks = video_tracks(models, entry, settings, watch)
        items.append({"id": entry["id"], "seed": entry["seed"], "frames_dir": entry["frames_dir"],
                      "frames": entry["frames"], "width": width, "height": height,
                      "tracks": tracks})  # fmt: skip
    return write_candidates("videos", out_path, models, items, skipped, len(videos), start, watch)


def run_job(snakemake, label):
    """The body of a GPU labeling rule: `label` is label_images or label_videos."""
    from .entry import logged
    from .gpus import gpu_lease

    # 0 (all boxes of an image in one SAM 2 call) on a first attempt; Snakemake leaves a
    # zero resource out, hence the default. Retries after CUDA OOM ask for fewer.
    boxes_per_call = snakemake.resources.get("sam2_boxes_per_call", 0)
    settings = {
        **snakemake.params.settings,
        "boxes_per_call": boxes_per_call,
        "classes": list(snakemake.params.classes),
    }
    with logged(snakemake) as stream, gpu_lease(1) as devices:
        use_devices(devices)
        log.info("SAM 2 boxes per call: %s", boxes_per_call or "all")
        label(
            snakemake.input.manifests,
            snakemake.output[0],
            settings,
            # loaded once, and only when there is something to label
            lambda: load_models(snakemake.params.models, snakemake.params.classes),
            progress=stream,
        )
