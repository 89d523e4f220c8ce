"""Grounding DINO behind one interface, from either implementation users have weights for.

- `groundingdino`: the original API (package groundingdino-py): a `.py` config and a
  `.pth` checkpoint; the BERT text encoder may be a local folder for offline clusters.
- `transformers`: AutoModelForZeroShotObjectDetection and its processor, from a folder:
  Grounding DINO, MM-Grounding-DINO and LLMDet (one class and post-processing), or OWLv2
  (one text query per phrase, its own post-processing); the folder's model type decides.

All run in float32 (precision.py says why) and return, for every query box, its
normalized (cx, cy, w, h) and its sigmoid score against every caption token (for OWLv2,
every phrase), plus each token's character span in the caption: all the ontology
scoring needs. Each prepares the image as its library's own inference does
(tests/test_label_agreement.py, tests/test_transformers_detectors.py).

`detect_batch` takes several images of one size in one forward pass: never padded, since
padding changes what the backbone sees, so a padded image would not get the candidates
it gets alone (image_labeling.py groups images by size).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..core.errors import ConfigError
from .checkpoints import GROUNDINGDINO_EXTRA_TYPES, literal_python_config, load_weights

# Grounding DINO's own sizes: the shorter side at 800 unless the longer side would pass
# 1333. `image_size` scales both, so the model sees what upstream feeds it at 800.
UPSTREAM_SHORTER, UPSTREAM_LONGER = 800, 1333
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


@dataclass
class Detections:
    boxes_cxcywh: np.ndarray  # (queries, 4), normalized
    token_probs: np.ndarray  # (queries, caption tokens)


def require_file(path, key):
    if not path or not Path(path).exists():
        raise ConfigError("config", key, f"{path!r} does not exist")
    return str(path)


def require_safetensors(folder, key):
    """A transformers model folder with safetensors weights: the only kind loaded, since a
    pickled `pytorch_model.bin` can run code when it is read."""
    folder = require_file(folder, key)
    if not any(Path(folder).glob("*.safetensors")):
        raise ConfigError(
            "config",
            key,
            f"{folder!r} has no .safetensors weights; only those are loaded (a pickled "
            "pytorch_model.bin can run code): save the model with save_pretrained()",
        )
    return folder


def require_one_size(images):
    """The images of a batch share a shape: nothing is padded (see the module doc)."""
    shapes = sorted({image.shape for image in images})
    if len(shapes) != 1:
        raise ValueError(f"a detector batch holds images of one size, not {shapes}")


class OneByOne:
    """`detect` of one image, through the detector's `detect_batch`."""

    def detect(self, image, caption):
        """`image`: HxWx3 uint8 RGB."""
        return self.detect_batch([image], caption)[0]


def longer_side_cap(image_size):
    """The longest side fed to the model for `image_size` (1333 for 800)."""
    return round(image_size * UPSTREAM_LONGER / UPSTREAM_SHORTER)


def groundingdino_transform(image_size):
    """groundingdino.util.inference.load_image's transforms, at `image_size` instead of
    its fixed 800: PIL bilinear resize of the uint8 image (sizes truncated with int(), as
    groundingdino's get_size does), then to a tensor and normalized."""
    import groundingdino.datasets.transforms as T

    return T.Compose(
        [
            T.RandomResize([image_size], max_size=longer_side_cap(image_size)),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ]
    )


class OriginalGroundingDino(OneByOne):
    """The groundingdino package's model, preprocessed as its load_image() does."""

    def __init__(self, settings, device):
        from groundingdino.models import build_model
        from groundingdino.util.slconfig import SLConfig
        from groundingdino.util.utils import clean_state_dict

        config = require_file(settings.get("config"), "models.detector.config")
        checkpoint = require_file(settings.get("checkpoint"), "models.detector.checkpoint")
        # Read as literals, never imported as SLConfig.fromfile would (checkpoints.py).
        settings_of_file, text = literal_python_config(config, "models.detector.config")
        args = SLConfig(settings_of_file, cfg_text=text, filename=config)
        args.device = str(device)
        if settings.get("text_encoder"):
            args.text_encoder_type = require_file(
                settings["text_encoder"], "models.detector.text_encoder"
            )
        model = build_model(args)
        # weights_only: a checkpoint from the internet must not run code (checkpoints.py).
        weights = load_weights(checkpoint, "models.detector.checkpoint", GROUNDINGDINO_EXTRA_TYPES)
        state = clean_state_dict(weights["model"])
        result = model.load_state_dict(state, strict=False)
        # The package loads non-strictly; a checkpoint that leaves detector weights
        # unset would silently give random labels, so refuse it.
        missing = [k for k in result.missing_keys if not k.startswith("bert.")]
        if missing:
            raise ConfigError(
                "config",
                "models.detector.checkpoint",
                f"does not fit the config: missing {missing[:5]}",
            )
        self.model = model.to(device).eval()
        self.device = device
        self.transform = groundingdino_transform(settings["image_size"])

    def token_offsets(self, caption):
        return self.model.tokenizer(caption, return_offsets_mapping=True)["offset_mapping"]

    @torch.inference_mode()
    def detect_batch(self, images, caption):
        """`images`: HxWx3 uint8 RGB arrays of one shape. float32 throughout (precision.py)."""
        require_one_size(images)
        tensors = [self.transform(Image.fromarray(image), None)[0] for image in images]
        batch = torch.stack(tensors).to(self.device)
        outputs = self.model(batch, captions=[caption] * len(images))
        tokens = len(self.token_offsets(caption))
        return split_detections(outputs["pred_boxes"], outputs["pred_logits"][:, :, :tokens])


def split_detections(boxes, logits):
    """A batch's (images, queries, 4) boxes and (images, queries, columns) logits -> one
    Detections per image, as float32 numpy."""
    boxes = boxes.float().cpu().numpy()
    probs = logits.float().sigmoid().cpu().numpy()
    return [Detections(image_boxes, image_probs) for image_boxes, image_probs in zip(boxes, probs)]


def load_transformers_model(folder):
    """The processor and model of a transformers folder: safetensors only (a pickled
    pytorch_model.bin can run code) and no code from the folder."""
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    processor = AutoProcessor.from_pretrained(folder, trust_remote_code=False)
    model = AutoModelForZeroShotObjectDetection.from_pretrained(
        folder, use_safetensors=True, trust_remote_code=False
    )
    return processor, model


class TransformersGroundingDino(OneByOne):
    """transformers' Grounding DINO, MM-Grounding-DINO or LLMDet with its own processor
    (resize, normalize, tokenize)."""

    def __init__(self, settings, device):
        folder = require_safetensors(settings.get("model_dir"), "models.detector.model_dir")
        self.processor, model = load_transformers_model(folder)
        self.model = model.to(device).eval()
        self.device = device
        size = settings["image_size"]
        self.size = {"shortest_edge": size, "longest_edge": longer_side_cap(size)}

    def token_offsets(self, caption):
        # Not truncated: a caption over the model's 256 tokens is refused by the caller,
        # naming the phrase where it overflows, instead of silently losing its tail.
        return self.processor.tokenizer(caption, return_offsets_mapping=True)["offset_mapping"]

    @torch.inference_mode()
    def detect_batch(self, images, caption):
        """`images`: HxWx3 uint8 RGB arrays of one shape. float32 throughout (precision.py)."""
        require_one_size(images)
        inputs = self.processor(
            images=list(images), text=[caption] * len(images), size=self.size, return_tensors="pt"
        )
        outputs = self.model(**inputs.to(self.device))
        tokens = inputs["input_ids"].shape[1]
        return split_detections(outputs.pred_boxes, outputs.logits[:, :, :tokens])


def phrase_spans(caption):
    """(start, end) of each phrase of an ontology caption ("a . b c . d .")."""
    spans, start = [], 0
    for phrase in caption.removesuffix(" .").split(" . "):
        spans.append((start, start + len(phrase)))
        start += len(phrase) + len(" . ")
    return spans


class TransformersOwlv2(OneByOne):
    """transformers' OWLv2 with its own processor: one text query per phrase, so each
    phrase is one "token" here and its score is that query's sigmoid, as
    Owlv2Processor.post_process_grounded_object_detection scores it. The processor pads
    the image to a square (bottom and right) and resizes it to the model's fixed size
    (960 for the base models): `image_size` does not apply."""

    def __init__(self, settings, device):
        folder = require_safetensors(settings.get("model_dir"), "models.detector.model_dir")
        self.processor, model = load_transformers_model(folder)
        self.model = model.to(device).eval()
        self.device = device
        self.max_tokens = model.config.text_config.max_position_embeddings

    def token_offsets(self, caption):
        """One span per phrase (a query each), after checking each fits OWLv2's text
        encoder, which would otherwise cut it silently."""
        spans = phrase_spans(caption)
        for start, end in spans:
            phrase = caption[start:end]
            count = len(self.processor.tokenizer(phrase)["input_ids"])
            if count > self.max_tokens:
                raise ConfigError(
                    "the template's classes",
                    repr(phrase),
                    f"{count} tokens: OWLv2 takes at most {self.max_tokens} per phrase",
                )
        return spans

    @torch.inference_mode()
    def detect_batch(self, images, caption):
        """`images`: HxWx3 uint8 RGB arrays of one shape. Boxes come back relative to the
        padded square; scaled here to the image's own width and height."""
        require_one_size(images)
        phrases = [caption[start:end] for start, end in phrase_spans(caption)]
        inputs = self.processor(
            images=list(images), text=[phrases] * len(images), return_tensors="pt"
        )
        outputs = self.model(**inputs.to(self.device))
        height, width = images[0].shape[:2]
        side = max(height, width)
        to_image = torch.tensor([side / width, side / height] * 2, device=self.device)
        return split_detections(outputs.pred_boxes * to_image, outputs.logits)


# transformers model types (config.json) -> the class that drives them. LLMDet
# checkpoints are of type mm-grounding-dino.
TRANSFORMERS_MODELS = {
    "grounding-dino": TransformersGroundingDino,
    "mm-grounding-dino": TransformersGroundingDino,
    "owlv2": TransformersOwlv2,
}


def transformers_detector(settings, device):
    """The class for the model type of `model_dir`; any other is refused, naming it."""
    folder = require_safetensors(settings.get("model_dir"), "models.detector.model_dir")
    config = Path(folder) / "config.json"
    try:
        model_type = json.loads(config.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError) as error:
        raise ConfigError("config", "models.detector.model_dir", f"{str(config)!r}: {error}")
    if model_type not in TRANSFORMERS_MODELS:
        raise ConfigError(
            "config",
            "models.detector.model_dir",
            f"{str(config)!r}: model_type {model_type!r} is not one of "
            f"{sorted(TRANSFORMERS_MODELS)}",
        )
    return TRANSFORMERS_MODELS[model_type](settings, device)


BACKENDS = {"groundingdino": OriginalGroundingDino, "transformers": transformers_detector}


def load_detector(settings, device):
    return BACKENDS[settings["backend"]](settings, device)
