"""The SAM 3 smoke model: a tiny RANDOM-WEIGHT Sam3Model built from transformers 5's
real architecture (every width, depth and size shrunk), with a tiny CLIP tokenizer and
SAM 3's image processor, saved as a local model folder (safetensors). Like the other
smoke models (smoke_models.py), its labels are MEANINGLESS. Needs transformers 5
(.venv-sam3/), hence apart from smoke_models.py, which runs in .venv/.
"""

import json
from pathlib import Path

import torch

from .smoke_models import WARNING, WORDS

IMAGE_SIZE = 112  # 8x8 patches of 14 pixels
WIDTH = 32
# Wider than transformers' 0.02: at 0.02 the tiny model's scores barely depend on the
# picture (a column less moves them by 3e-8), which would blunt the agreement tests.
INIT_RANGE = 0.2


def byte_alphabet():
    """The 256 printable stand-ins of bytes a byte-level BPE (CLIP's) starts from."""
    printable = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    chars, extra = [], 0
    for byte in range(256):
        if byte in printable:
            chars.append(chr(byte))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def clip_vocabulary():
    """A CLIP-style BPE vocabulary: single characters (word-final ones end in `</w>`), the
    smoke WORDS as merges of their letters, and CLIP's start and end tokens."""
    alphabet = byte_alphabet()
    vocab = {c: i for i, c in enumerate(alphabet + [c + "</w>" for c in alphabet])}
    merges = []
    for word in WORDS:
        joined = word[0]
        for index, char in enumerate(word[1:], 1):
            right = char + ("</w>" if index == len(word) - 1 else "")
            merges.append((joined, right))
            joined += right
            vocab.setdefault(joined, len(vocab))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    return vocab, merges


def tiny_sam3_config(vocab_size, bos, eos):
    from transformers import Sam3Config

    feature = IMAGE_SIZE // 14
    small = {
        "hidden_size": WIDTH,
        "num_attention_heads": 2,
        "intermediate_size": 2 * WIDTH,
        "initializer_range": INIT_RANGE,
    }
    backbone = {
        "model_type": "sam3_vit_model",
        **small,
        "num_hidden_layers": 2,
        "image_size": IMAGE_SIZE,
        "pretrain_image_size": IMAGE_SIZE,
        "window_size": 4,
        "global_attn_indexes": [1],
    }
    vision = {
        "backbone_config": backbone,
        "initializer_range": INIT_RANGE,
        "fpn_hidden_size": WIDTH,
        "backbone_feature_sizes": [[feature * 4] * 2, [feature * 2] * 2, [feature] * 2],
    }
    text = {
        "model_type": "clip_text_model",
        **small,
        "vocab_size": vocab_size,
        "projection_dim": WIDTH,
        "num_hidden_layers": 1,
        "max_position_embeddings": 32,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "pad_token_id": eos,
    }
    return Sam3Config(
        vision_config=vision,
        text_config=text,
        geometry_encoder_config={**small, "num_layers": 1},
        detr_encoder_config={**small, "num_layers": 1},
        detr_decoder_config={**small, "num_layers": 1, "num_queries": 20},
        mask_decoder_config={"hidden_size": WIDTH, "num_attention_heads": 2},
        initializer_range=INIT_RANGE,
    )


def build_sam3(folder):
    """The tiny SAM 3 model and processor in `folder`; returns its detector settings."""
    from transformers import CLIPTokenizer, Sam3ImageProcessor, Sam3Model, Sam3Processor

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = clip_vocabulary()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    images = Sam3ImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = Sam3Processor(image_processor=images, tokenizer=tokenizer, target_size=IMAGE_SIZE)
    processor.save_pretrained(folder)
    torch.manual_seed(0)
    config = tiny_sam3_config(len(vocab), tokenizer.bos_token_id, tokenizer.eos_token_id)
    Sam3Model(config).save_pretrained(folder)  # safetensors, never a pickle
    (folder / "WARNING.txt").write_text(WARNING + "\n")
    settings = {"model_dir": str(folder), "warning": WARNING}
    (folder / "models.json").write_text(json.dumps(settings, indent=1) + "\n")
    return settings
