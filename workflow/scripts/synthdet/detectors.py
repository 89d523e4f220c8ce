"""Grounding DINO behind one interface, from either implementation users have weights for.

- `groundingdino`: the original API (package groundingdino-py): a `.py` config and a
  `.pth` checkpoint; the BERT text encoder may be a local folder for offline clusters.
- `transformers`: AutoModelForZeroShotObjectDetection and its processor, from a folder.

Both return, for every query box, its normalized (cx, cy, w, h) and its sigmoid score
against every caption token, plus each token's character span in the caption: all the
ontology scoring needs.
"""

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import ConfigError

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


@dataclass
class Detections:
    boxes_cxcywh: np.ndarray  # (queries, 4), normalized
    token_probs: np.ndarray  # (queries, caption tokens)


def pick_device(requested="auto"):
    if requested != "auto":
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def configure_cuda(device):
    """TF32 matmuls on Ampere or newer (a large speed-up, negligible for detection)."""
    if device.type == "cuda" and torch.cuda.get_device_properties(device).major >= 8:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def autocast(device):
    """bf16 autocast on CUDA GPUs that support it; plain float32 elsewhere."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def require_file(path, key):
    if not path or not Path(path).exists():
        raise ConfigError("config", key, f"{path!r} does not exist")
    return str(path)


def resize_shape(height, width, shorter, longer):
    """Target (height, width): shorter side to `shorter`, longer side at most `longer`."""
    scale = min(shorter / min(height, width), longer / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


class OriginalGroundingDino:
    """The groundingdino package's model, preprocessed as its load_image() does."""

    def __init__(self, settings, device):
        from groundingdino.models import build_model
        from groundingdino.util.slconfig import SLConfig
        from groundingdino.util.utils import clean_state_dict

        config = require_file(settings.get("config"), "models.detector.config")
        checkpoint = require_file(settings.get("checkpoint"), "models.detector.checkpoint")
        args = SLConfig.fromfile(config)
        args.device = str(device)
        if settings.get("text_encoder"):
            args.text_encoder_type = require_file(settings["text_encoder"], "models.detector.text_encoder")
        model = build_model(args)
        state = clean_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=False)["model"])
        result = model.load_state_dict(state, strict=False)
        # The package loads non-strictly; a checkpoint that leaves detector weights
        # unset would silently give random labels, so refuse it.
        missing = [k for k in result.missing_keys if not k.startswith("bert.")]
        if missing:
            raise ConfigError("config", "models.detector.checkpoint", f"does not fit the config: missing {missing[:5]}")
        self.model = model.to(device).eval()
        self.device = device
        self.shorter = settings["image_size"]
        self.longer = round(settings["image_size"] * 1333 / 800)

    def token_offsets(self, caption):
        return self.model.tokenizer(caption, return_offsets_mapping=True)["offset_mapping"]

    @torch.inference_mode()
    def detect(self, image, caption):
        height, width = image.shape[:2]
        tensor = torch.from_numpy(image).permute(2, 0, 1).float().div(255)
        tensor = torch.nn.functional.interpolate(
            tensor[None], size=resize_shape(height, width, self.shorter, self.longer),
            mode="bilinear", align_corners=False, antialias=True,
        )[0]  # fmt: skip
        tensor = ((tensor - MEAN) / STD).to(self.device)
        with autocast(self.device):
            outputs = self.model(tensor[None], captions=[caption])
        tokens = len(self.token_offsets(caption))
        probs = outputs["pred_logits"][0, :, :tokens].float().sigmoid()
        return Detections(outputs["pred_boxes"][0].float().cpu().numpy(), probs.cpu().numpy())


class TransformersGroundingDino:
    """transformers' Grounding DINO with its own processor (resize, normalize, tokenize)."""

    def __init__(self, settings, device):
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        folder = require_file(settings.get("model_dir"), "models.detector.model_dir")
        self.processor = AutoProcessor.from_pretrained(folder)
        self.model = AutoModelForZeroShotObjectDetection.from_pretrained(folder).to(device).eval()
        self.device = device
        self.max_tokens = self.model.config.max_text_len

    def token_offsets(self, caption):
        encoded = self.processor.tokenizer(
            caption, return_offsets_mapping=True, truncation=True, max_length=self.max_tokens
        )
        return encoded["offset_mapping"]

    @torch.inference_mode()
    def detect(self, image, caption):
        # Truncating at tokenization avoids a shape mismatch inside the model for long text.
        inputs = self.processor(
            images=image, text=caption, return_tensors="pt", truncation=True,
            max_length=self.max_tokens,
        ).to(self.device)  # fmt: skip
        with autocast(self.device):
            outputs = self.model(**inputs)
        tokens = inputs["input_ids"].shape[1]
        probs = outputs.logits[0, :, :tokens].float().sigmoid()
        return Detections(outputs.pred_boxes[0].float().cpu().numpy(), probs.cpu().numpy())


BACKENDS = {"groundingdino": OriginalGroundingDino, "transformers": TransformersGroundingDino}


def load_detector(settings, device):
    return BACKENDS[settings["backend"]](settings, device)
