"""The body of a GPU labeling rule, above image and video labeling: it holds the GPU
lease, reads the batches, loads the models (once, and only when there is something to
label) and hands the loaded models to the labeling of the job's kind."""

import logging

from ..core.gpus import gpu_lease
from .image_labeling import label_images
from .job_io import made_with_seed, nothing_to_label
from .label_models import load_models, use_devices
from .video_labeling import label_videos

log = logging.getLogger(__name__)

# The candidates file's kind -> the labeling that writes it.
LABEL = {"images": label_images, "videos": label_videos}


def run_job(kind, manifests, out_path, settings, model_settings, classes, progress):
    """Label the made items of the `manifests` into the candidates file `out_path`.

    `kind`: "images" or "videos"; `settings`: a job_settings.LabelSettings;
    `model_settings` and `classes`: what label_models.load_models takes.
    """
    with gpu_lease(1) as devices:
        use_devices(devices)
        log.info("SAM 2 boxes per call: %s", settings.candidates.boxes_per_call or "all")
        if kind == "images":
            log.info("images per detector batch: %d", settings.candidates.images_per_batch)
        items = made_with_seed(manifests)
        if not items:
            return nothing_to_label(kind, out_path, classes)
        models = load_models(model_settings, classes)
        return LABEL[kind](items, out_path, settings, models, progress)
