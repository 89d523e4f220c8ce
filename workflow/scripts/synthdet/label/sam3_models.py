"""SAM 3 as a labeler (`models.detector.backend: sam3`): transformers 5's Sam3Model and
Sam3Processor, from a local model folder (safetensors only).

SAM 3 takes one text concept per call and returns every instance of it with a box, a
mask and a score, so, unlike Grounding DINO, it needs no SAM 2 pass over its boxes. Each
ontology phrase is one prompt over the image's vision features (computed once per
image). An instance found with a phrase of class c scores that for c and 0 for every
other class; instances of two phrases of one class that are the same object are left to
the CPU filter's NMS, which keeps the higher one, so a class's score is the max over its
phrases, as with the other backends.

Runs only where transformers 5 is installed (.venv-sam3/ or envs/label-sam3.yaml):
groundingdino-py needs transformers < 5 (sam3_env.py).
"""

import logging
import sys
from types import SimpleNamespace

import numpy as np
import torch

from ..core.errors import ConfigError
from .detectors import require_safetensors
from .mask_runs import column_major_runs

log = logging.getLogger(__name__)

# Sam3Processor pads every phrase to 32 tokens, the text encoder's length; a longer one
# would fail deep in the model, so it is refused by name first.
SAM3_TEXT_TOKENS = 32
# Sam3ImageProcessor.post_process_instance_segmentation's default binarization.
MASK_THRESHOLD = 0.5


class Sam3Detector:
    """Sam3Model with its processor; `instances` gives each phrase's instances."""

    segments = True  # boxes and masks from one model: no SAM 2 pass over its boxes

    def __init__(self, settings, device):
        import transformers
        from transformers import Sam3Model, Sam3Processor

        log.info("SAM 3 with transformers %s (%s)", transformers.__version__, sys.executable)

        folder = require_safetensors(settings.get("model_dir"), "models.detector.model_dir")
        # No pickles (a pytorch_model.bin can run code) and no code from the folder.
        self.processor = Sam3Processor.from_pretrained(folder, trust_remote_code=False)
        model = Sam3Model.from_pretrained(folder, use_safetensors=True, trust_remote_code=False)
        self.model = model.to(device).eval()
        self.device = device

    def check_phrases(self, phrases):
        """Refuse a phrase over SAM 3's 32 text tokens, naming it."""
        for phrase in phrases:
            count = len(self.processor.tokenizer(phrase)["input_ids"])
            if count > SAM3_TEXT_TOKENS:
                raise ConfigError(
                    "template",
                    f"classes: phrase {phrase!r}",
                    f"is {count} SAM 3 text tokens, above its {SAM3_TEXT_TOKENS}: shorten it",
                )

    @torch.inference_mode()
    def phrase_outputs(self, image, phrases):
        """The model's outputs for each phrase on `image` (HxWx3 uint8 RGB), as
        Sam3Processor + Sam3Model give them, the image encoded once. float32."""
        pixels = self.processor(images=image, return_tensors="pt")["pixel_values"]
        vision = self.model.get_vision_features(pixel_values=pixels.to(self.device))
        outputs = []
        for phrase in phrases:
            text = self.processor(text=phrase, return_tensors="pt").to(self.device)
            outputs.append(
                self.model(
                    vision_embeds=vision,
                    input_ids=text["input_ids"],
                    attention_mask=text["attention_mask"],
                )
            )
        return outputs

    @torch.inference_mode()
    def post_process(self, outputs, queries, size):
        """Sam3Processor.post_process_instance_segmentation on the `queries` only: masks
        of the others are never upsampled to the image size (200 a phrase would take GBs).
        Returns (scores, pixel xyxy boxes, (N, H, W) bool masks)."""
        chosen = torch.as_tensor(queries, dtype=torch.long, device=outputs.pred_logits.device)
        picked = SimpleNamespace(
            pred_logits=outputs.pred_logits[:, chosen].float(),
            pred_boxes=outputs.pred_boxes[:, chosen].float(),
            pred_masks=outputs.pred_masks[:, chosen].float(),
            presence_logits=outputs.presence_logits,
        )
        # threshold -1 keeps every chosen query (they were chosen by the floor already)
        result = self.processor.post_process_instance_segmentation(
            picked, threshold=-1.0, mask_threshold=MASK_THRESHOLD, target_sizes=[size]
        )[0]
        return result["scores"], result["boxes"], result["masks"].bool()


def instance_scores(outputs):
    """Each query's score as the library's post-processing computes it: its sigmoid
    times the sigmoid of the image's presence logit."""
    scores = outputs.pred_logits[0].float().sigmoid()
    if outputs.presence_logits is not None:
        scores = scores * outputs.presence_logits[0].float().sigmoid()
    return scores.cpu().numpy()


def best_instances(scores, floor, limit):
    """(phrase, query) of the instances of all phrases scoring at least `floor`, best
    first, at most `limit`. `scores`: one array of query scores per phrase."""
    flat = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
    phrase = np.repeat(np.arange(len(scores)), [len(s) for s in scores])
    query = np.concatenate([np.arange(len(s)) for s in scores] or [np.zeros(0, dtype=int)])
    order = np.argsort(-flat, kind="stable")[:limit]
    order = order[flat[order] >= floor]
    return [(int(phrase[i]), int(query[i])) for i in order]


def sam3_candidates(models, image, settings, watch):
    """One image's candidates from SAM 3: (pixel boxes, class score rows, mask runs, mask
    scores), what image_labeling's detect + segment give for the other backends. An
    instance scores for its phrase's class only; SAM 3 has no mask-quality head, so a
    mask's score is its instance's score."""
    onto, detector = models.ontology, models.detector
    with watch("sam3"):
        outputs = detector.phrase_outputs(image, onto.phrases)
        picks = best_instances(
            [instance_scores(o) for o in outputs],
            settings.candidate_floor,
            settings.max_candidates,
        )
        boxes, rows, masks = [], np.zeros((len(picks), len(onto.classes)), np.float32), []
        for row, (phrase, query) in enumerate(picks):
            score, box, mask = detector.post_process(outputs[phrase], [query], image.shape[:2])
            rows[row, onto.phrase_class[phrase]] = float(score[0])
            boxes.append(box[0].cpu().numpy())
            masks.append(mask[0])
    with watch("cpu: masks to runs"):
        if not picks:
            return np.zeros((0, 4), np.float32), rows, [], np.zeros(0)
        return np.stack(boxes), rows, column_major_runs(torch.stack(masks)), rows.max(axis=1)
