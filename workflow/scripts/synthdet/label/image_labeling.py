"""Labeling images: every box whose best class score reaches `candidate_floor` (at most
`max_candidates` per image) is kept with its per-class scores, and SAM 2's image
predictor segments all of them in one call per image. Nothing is thresholded above the
floor here: that is the CPU filter's job, so a threshold tweak never reruns this.

Images go through the detector and SAM 2's image encoder in batches of up to
`images_per_batch` consecutive images of one size: a different size starts a new batch,
since padding would change what the models see (detectors.py).
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


def detections_of(detector, images, caption):
    """One Detections per image: in one forward pass where the detector takes batches."""
    if hasattr(detector, "detect_batch"):
        return detector.detect_batch(images, caption)
    return [detector.detect(image, caption) for image in images]


def detect_batch(models, images, settings, watch):
    """Candidates of RGB images of one size: per image, pixel boxes and per-class scores
    above the floor. `settings`: a CandidateSettings."""
    with watch("detector"):
        found = detections_of(models.detector, images, models.ontology.caption)
    with watch("cpu: scores and boxes"):
        return [above_floor(models, image, one, settings) for image, one in zip(images, found)]


def detect(models, image, settings, watch):
    """Candidates of one RGB image (see detect_batch)."""
    return detect_batch(models, [image], settings, watch)[0]


def above_floor(models, image, found, settings):
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
    with watch("sam2"), torch.inference_mode(), sam2_autocast(models.device):
        models.predictor.set_image(image)
        return masks_of_set_image(models.predictor, pixel_boxes, per_call)


def segment_batch(models, images, boxes_per_image, watch, per_call=None):
    """`segment` of images of one size, with SAM 2's image encoder run once on all of
    them (SAM2ImagePredictor.set_image_batch): a list of (runs, scores) per image."""
    if not any(len(boxes) for boxes in boxes_per_image):
        return [([], np.zeros(0)) for _ in images]
    with watch("sam2"), torch.inference_mode(), sam2_autocast(models.device):
        models.predictor.set_image_batch(list(images))
        return [
            masks_of_set_image(models.predictor, boxes, per_call, index)
            for index, boxes in enumerate(boxes_per_image)
        ]


def masks_of_set_image(predictor, pixel_boxes, per_call, img_idx=-1):
    """(runs, scores) of the boxes on image `img_idx` of what the predictor has set."""
    if len(pixel_boxes) == 0:
        return [], np.zeros(0)
    per_call = per_call or len(pixel_boxes)
    oom_above = os.environ.get(SIMULATE_OOM_ABOVE)
    runs, scores = [], []
    for start in range(0, len(pixel_boxes), per_call):
        chunk = pixel_boxes[start : start + per_call]
        if oom_above is not None and len(chunk) > int(oom_above):
            raise torch.cuda.OutOfMemoryError(f"simulated: {len(chunk)} boxes in one SAM 2 call")
        masks, chunk_scores = box_masks(predictor, chunk, img_idx)
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
    if segments_itself(models):
        from .sam3_models import sam3_candidates  # transformers 5 only

        return sam3_candidates(models, image, settings, watch)
    pixel_boxes, scores = detect(models, image, settings, watch)
    runs, mask_scores = segment(models, image, pixel_boxes, watch, settings.boxes_per_call)
    return pixel_boxes, scores, runs, mask_scores


def segments_itself(models):
    return getattr(models.detector, "segments", False)


def batch_candidates(models, images, settings, watch):
    """The candidates of each of `images` (of one size): detector and SAM 2 encoder in
    one pass each (SAM 3, one image at a time). `settings`: a CandidateSettings."""
    if segments_itself(models):
        found = [boxes_and_masks(models, image, settings, watch) for image in images]
    else:
        detected = detect_batch(models, images, settings, watch)
        boxes = [pixel_boxes for pixel_boxes, _ in detected]
        masks = segment_batch(models, images, boxes, watch, settings.boxes_per_call)
        found = [
            (*boxes_scores, *runs_scores) for boxes_scores, runs_scores in zip(detected, masks)
        ]
    with watch("cpu: masks to RLE"):
        return [candidate_records(*one, *image.shape[:2]) for image, one in zip(images, found)]


def same_size_batches(decoded, batch_size, on_problem):
    """Decoded (item, image, problem) in order -> lists of at most `batch_size` (item,
    image) of one image shape; a shape change starts a new batch, and an unreadable item
    goes to `on_problem(item, problem)` without breaking the batch around it."""
    batch = []
    for item, image, problem in decoded:
        if problem:
            on_problem(item, problem)
            continue
        if batch and (len(batch) == batch_size or image.shape != batch[0][1].shape):
            yield batch
            batch = []
        batch.append((item, image))
    if batch:
        yield batch


def image_record(item, image, candidates):
    height, width = image.shape[:2]
    return {
        "id": item["id"],
        "seed": item["seed"],
        "image": item["path"],
        "width": width,
        "height": height,
        "candidates": candidates,
    }


def label_images(images, out_path, settings, models, progress):
    """The made images of a job's seed batches (job_io.made_with_seed) -> one
    candidates file. `settings`: a LabelSettings; `models`: label_models.Models."""
    watch, items, skipped = Stopwatch(), [], []
    start = time.perf_counter()
    size = settings.candidates.images_per_batch
    # decoding keeps a batch and the next ahead of the GPU
    stream = prefetched(images, lambda item: item["path"], ahead=max(8, 2 * size))
    decoded = tqdm(stream, total=len(images), file=progress, mininterval=5)

    def on_problem(item, problem):
        skip(skipped, item["id"], item["path"], problem)

    for batch in same_size_batches(decoded, size, on_problem):
        pictures = [image for _, image in batch]
        found = batch_candidates(models, pictures, settings.candidates, watch)
        items += [image_record(item, image, cands) for (item, image), cands in zip(batch, found)]
    return write_candidates("images", out_path, models, items, skipped, len(images), start, watch)
