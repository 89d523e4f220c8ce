"""Grounding DINO behind one interface, from either implementation users have weights for.

- `groundingdino`: the original API (package groundingdino-py): a `.py` config and a
  `.pth` checkpoint; the BERT text encoder may be a local folder for offline clusters.
- `transformers`: AutoModelForZeroShotObjectDetection and its processor, from a folder.

Both run in float32 (precision.py says why) and return, for every query box, its
normalized (cx, cy, w, h) and its sigmoid score against every caption token, plus each
token's character span in the caption: all the ontology scoring needs. Each prepares
the image as its library's own inference does (tests/test_label_agreement.py).
"""

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


class OriginalGroundingDino:
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
    def detect(self, image, caption):
        """`image`: HxWx3 uint8 RGB. float32 throughout (see precision.py)."""
        tensor, _ = self.transform(Image.fromarray(image), None)
        outputs = self.model(tensor.to(self.device)[None], captions=[caption])
        tokens = len(self.token_offsets(caption))
        probs = outputs["pred_logits"][0, :, :tokens].float().sigmoid()
        return Detections(outputs["pred_boxes"][0].float().cpu().numpy(), probs.cpu().numpy())


class TransformersGroundingDino:
    """transformers' Grounding DINO with its own processor (resize, normalize, tokenize)."""

    def __init__(self, settings, device):
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        folder = require_safetensors(settings.get("model_dir"), "models.detector.model_dir")
        # No pickles (a pytorch_model.bin can run code) and no code from the folder.
        self.processor = AutoProcessor.from_pretrained(folder, trust_remote_code=False)
        model = AutoModelForZeroShotObjectDetection.from_pretrained(
            folder, use_safetensors=True, trust_remote_code=False
        )
        self.model = model.to(device).eval()
        self.device = device
        size = settings["image_size"]
        self.size = {"shortest_edge": size, "longest_edge": longer_side_cap(size)}

    def token_offsets(self, caption):
        # Not truncated: a caption over the model's 256 tokens is refused by the caller,
        # naming the phrase where it overflows, instead of silently losing its tail.
        return self.processor.tokenizer(caption, return_offsets_mapping=True)["offset_mapping"]

    @torch.inference_mode()
    def detect(self, image, caption):
        """`image`: HxWx3 uint8 RGB. float32 throughout (see precision.py)."""
        inputs = self.processor(images=image, text=caption, size=self.size, return_tensors="pt")
        outputs = self.model(**inputs.to(self.device))
        tokens = inputs["input_ids"].shape[1]
        probs = outputs.logits[0, :, :tokens].float().sigmoid()
        return Detections(outputs.pred_boxes[0].float().cpu().numpy(), probs.cpu().numpy())


BACKENDS = {"groundingdino": OriginalGroundingDino, "transformers": TransformersGroundingDino}


def load_detector(settings, device):
    return BACKENDS[settings["backend"]](settings, device)
