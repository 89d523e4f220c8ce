"""Loading the labeling models once per job: the detector (Grounding DINO or SAM 3),
SAM 2, the ontology."""

import logging
import os
import time
from dataclasses import dataclass

from ..setup import ontology
from .detectors import load_detector
from .precision import configure_cuda, pick_device
from .sam2_models import image_predictor, load_sam2
from .smoke_models import WARNING as SMOKE_WARNING

log = logging.getLogger(__name__)


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


def detector_of(settings, device):
    """Grounding DINO (detectors.py), or SAM 3, imported only when asked for: it needs
    transformers 5 (sam3_env.py)."""
    if settings["backend"] == "sam3":
        from .sam3_models import Sam3Detector

        return Sam3Detector(settings, device)
    return load_detector(settings, device)


def load_models(settings, classes):
    """Load the detector and SAM 2 once; called once per job."""
    if settings.get("smoke"):
        log.warning("%s", SMOKE_WARNING)
    start = time.perf_counter()
    device = pick_device(settings.get("device", "auto"))
    configure_cuda(device)
    detector = detector_of(settings["detector"], device)
    sam2 = load_sam2(settings["sam2"]["config"], settings["sam2"]["checkpoint"], device)
    onto = ontology.build(classes)
    if getattr(detector, "segments", False):  # SAM 3: one prompt per phrase, no caption
        detector.check_phrases(onto.phrases)
        tokens = None
    else:
        # Refuses a caption over the model's 256 tokens, naming the phrase where it overflows.
        tokens = ontology.phrase_tokens(onto, detector.token_offsets(onto.caption))
    seconds = time.perf_counter() - start
    log.info("models loaded on %s in %.1f s; caption %r", device, seconds, onto.caption)
    return Models(detector, sam2, image_predictor(sam2), onto, tokens, device, seconds)
