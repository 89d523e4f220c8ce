"""Labeling images: every box whose best class score reaches `candidate_floor` (at most
`max_candidates` per image) is kept with its per-class scores, and SAM 2's image
predictor segments all of them in one call per image. Nothing is thresholded above the
floor here: that is the CPU filter's job, so a threshold tweak never reruns this.
"""

import os
import time

import numpy as np
import torch
from tqdm import tqdm

from ..core import boxes as box_ops
from ..core import rle
from ..setup import ontology
from .job_io import Stopwatch, skip, write_candidates
from .mask_runs import column_major_runs, rounded
from .precision import sam2_autocast
from .sam2_models import box_masks
from .prefetch import prefetched

# Test hook, named as one: raise a CUDA out-of-memory error, on any device, when one
# SAM 2 call gets more boxes than this. It lets tests drive the real retry path on a CPU.
SIMULATE_OOM_ABOVE = "SYNTHDET_SIMULATE_OOM_ABOVE_BOXES"


def detect(models, image, settings, watch):
    """Candidates of one RGB image: pixel boxes and per-class scores above the floor.
    `settings`: a CandidateSettings."""
    with watch("detector"):
        found = models.detector.detect(image, models.ontology.caption)
    with watch("cpu: scores and boxes"):
        scores = ontology.class_scores(found.token_probs, models.ontology, models.phrase_tokens)
        best = scores.max(axis=1)
        order = np.argsort(-best, kind="stable")[: settings.max_candidates]
        order = order[best[order] >= settings.candidate_floor]
        height, width = image.shape[:2]
        pixel_boxes = box_ops.cxcywh_to_xyxy(found.boxes_cxcywh[order], width, height)
    return pixel_boxes, scores[order]


def segment(models, image, pixel_boxes, watch, per_call=None):
    """SAM 2 on the boxes of an image: one call for all of them, or `per_call` at a time
    when a retry after running out of GPU memory asks for less.

    Returns (runs, scores): each mask as the run lengths of its column-major pixels, the
    uncompressed form of COCO RLE. The masks are those of
    SAM2ImagePredictor.predict(box=..., multimask_output=False), kept on the device
    (sam2_models.box_masks), where the runs are found.
    """
    if len(pixel_boxes) == 0:
        return [], np.zeros(0)
    per_call = per_call or len(pixel_boxes)
    oom_above = os.environ.get(SIMULATE_OOM_ABOVE)
    runs, scores = [], []
    predictor = models.predictor
    with watch("sam2"), torch.inference_mode(), sam2_autocast(models.device):
        predictor.set_image(image)
        for start in range(0, len(pixel_boxes), per_call):
            chunk = pixel_boxes[start : start + per_call]
            if oom_above is not None and len(chunk) > int(oom_above):
                raise torch.cuda.OutOfMemoryError(
                    f"simulated: {len(chunk)} boxes in one SAM 2 call"
                )
            masks, chunk_scores = box_masks(predictor, chunk)
            runs += column_major_runs(masks)
            scores.append(chunk_scores.float().cpu().numpy())
    return runs, np.concatenate(scores)


def candidate_records(pixel_boxes, scores, runs, mask_scores, height, width):
    """The candidates of one image as stored: the CPU work after the forward passes."""
    encoded = rle.from_runs(runs, height, width)
    return [
        {
            "box": rounded(box),
            "scores": rounded(class_scores, 4),
            "mask": mask,
            "mask_box": rounded(mask_box),
            "mask_area": area,
            "mask_score": round(float(ms), 4),
        }
        for box, class_scores, (mask, area, mask_box), ms in zip(
            pixel_boxes, scores, encoded, mask_scores
        )
    ]


def boxes_and_masks(models, image, settings, watch):
    """(pixel boxes, class scores, mask runs, mask scores) of one image: the detector's
    boxes segmented by SAM 2, or SAM 3's own instances (it segments what it finds)."""
    if getattr(models.detector, "segments", False):
        from .sam3_models import sam3_candidates  # transformers 5 only

        return sam3_candidates(models, image, settings, watch)
    pixel_boxes, scores = detect(models, image, settings, watch)
    runs, mask_scores = segment(models, image, pixel_boxes, watch, settings.boxes_per_call)
    return pixel_boxes, scores, runs, mask_scores


def image_candidates(models, image, settings, watch):
    pixel_boxes, scores, runs, mask_scores = boxes_and_masks(models, image, settings, watch)
    with watch("cpu: masks to RLE"):
        height, width = image.shape[:2]
        return candidate_records(pixel_boxes, scores, runs, mask_scores, height, width)


def label_images(images, out_path, settings, models, progress):
    """The made images of a job's seed batches (job_io.made_with_seed) -> one
    candidates file. `settings`: a LabelSettings; `models`: label_models.Models."""
    watch, items, skipped = Stopwatch(), [], []
    start = time.perf_counter()
    stream = prefetched(images, lambda item: item["path"])
    for item, image, problem in tqdm(stream, total=len(images), file=progress, mininterval=5):
        if problem:
            skip(skipped, item["id"], item["path"], problem)
            continue
        candidates = image_candidates(models, image, settings.candidates, watch)
        height, width = image.shape[:2]
        items.append(
            {
                "id": item["id"],
                "seed": item["seed"],
                "image": item["path"],
                "width": width,
                "height": height,
                "candidates": candidates,
            }
        )
    return write_candidates("images", out_path, models, items, skipped, len(images), start, watch)
