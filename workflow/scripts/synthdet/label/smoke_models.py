"""Smoke models: tiny RANDOM-WEIGHT models built from the real architectures.

They exist so the whole labeling path (loading, preprocessing, inference, tracking,
writing) runs on a CPU in tests and in the demo. Their labels are MEANINGLESS: nothing
was trained. Real runs point `models:` in the config at real checkpoints.
"""

import json
from pathlib import Path

import torch
from omegaconf import OmegaConf

from ..core.smoke_files import smoke_model_files
from .checkpoints import literal_python_config
from .sam2_models import config_path

# Logged by every job that loads them (label_models) and written beside them (build_all).
WARNING = "smoke models: random weights, labels are meaningless"
SAM2_IMAGE_SIZE = 256


def tiny_sam2_config():
    """sam2.1_hiera_t's config with every width, depth and size shrunk consistently."""
    cfg = OmegaConf.load(config_path("sam2.1_hiera_t"))
    model = cfg.model
    dim, memory_dim, feat = 32, 16, SAM2_IMAGE_SIZE // 16
    trunk = model.image_encoder.trunk
    trunk.embed_dim, trunk.num_heads = 8, 1
    # A global-attention block must not open a stage (Q-pooling needs a window there).
    trunk.stages, trunk.global_att_blocks = [1, 1, 2, 1], [3]
    neck = model.image_encoder.neck
    neck.d_model, neck.position_encoding.num_pos_feats = dim, dim
    neck.backbone_channel_list = [64, 32, 16, 8]
    attention = model.memory_attention
    attention.d_model, attention.num_layers = dim, 1
    attention.layer.d_model, attention.layer.dim_feedforward = dim, 64
    for block in (attention.layer.self_attention, attention.layer.cross_attention):
        block.embedding_dim, block.feat_sizes = dim, [feat, feat]
    attention.layer.cross_attention.kv_in_dim = memory_dim
    encoder = model.memory_encoder
    encoder.out_dim, encoder.in_dim = memory_dim, dim
    encoder.position_encoding.num_pos_feats = memory_dim
    encoder.mask_downsampler.embed_dim = dim
    encoder.fuser.layer.dim, encoder.fuser.num_layers = dim, 1
    model.image_size, model.num_maskmem = SAM2_IMAGE_SIZE, 3
    return cfg


def build_sam2(files):
    """SAM 2 at `files["config"]` and `files["checkpoint"]`."""
    from hydra.utils import instantiate

    from .sam2_models import model_config

    yaml_path, checkpoint = Path(files["config"]), Path(files["checkpoint"])
    yaml_path.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(tiny_sam2_config(), yaml_path)
    torch.manual_seed(0)
    model = instantiate(model_config(str(yaml_path)), _recursive_=True)
    torch.save({"model": model.state_dict()}, checkpoint)
    return {"config": str(yaml_path), "checkpoint": str(checkpoint)}


# bert-base-uncased ids of the tokens Grounding DINO treats as special ([CLS], [SEP],
# ".", "?"): both implementations look them up by these ids, so the tiny vocab keeps them.
SPECIAL_IDS = {
    0: "[PAD]",
    100: "[UNK]",
    101: "[CLS]",
    102: "[SEP]",
    103: "[MASK]",
    1012: ".",
    1029: "?",
}
WORDS = ["can", "soda", "drink", "worker", "person", "forklift", "box", "car", "the"]


def vocabulary():
    tokens = [SPECIAL_IDS.get(i, f"[unused{i}]") for i in range(1040)]
    pieces = list("abcdefghijklmnopqrstuvwxyz0123456789")
    return tokens + pieces + [f"##{p}" for p in pieces] + WORDS


def build_text_encoder(folder):
    """A tiny BERT (random weights) and its tokenizer, saved as a local model folder."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(vocabulary()) + "\n")
    BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocabulary()),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    BertModel(config).save_pretrained(folder)
    return str(folder)


GROUNDINGDINO_CONFIG = """\
# Grounding DINO smoke config: GroundingDINO_SwinT_OGC with 1 encoder and 1 decoder
# layer, few queries and a tiny local BERT. Random weights: labels are meaningless.
batch_size = 1
modelname = "groundingdino"
backbone = "swin_T_224_1k"
position_embedding = "sine"
pe_temperatureH = 20
pe_temperatureW = 20
return_interm_indices = [1, 2, 3]
backbone_freeze_keywords = None
enc_layers = 1
dec_layers = 1
pre_norm = False
dim_feedforward = 256
hidden_dim = 256
dropout = 0.0
nheads = 8
num_queries = 50
query_dim = 4
num_patterns = 0
num_feature_levels = 4
enc_n_points = 4
dec_n_points = 4
two_stage_type = "standard"
two_stage_bbox_embed_share = False
two_stage_class_embed_share = False
transformer_activation = "relu"
dec_pred_bbox_embed_share = True
dn_box_noise_scale = 1.0
dn_label_noise_ratio = 0.5
dn_label_coef = 1.0
dn_bbox_coef = 1.0
embed_init_tgt = True
dn_labelbook_size = 2000
max_text_len = 256
text_encoder_type = {text_encoder!r}
use_text_enhancer = True
use_fusion_layer = True
use_checkpoint = False
use_transformer_ckpt = False
use_text_cross_attention = True
text_dropout = 0.0
fusion_dropout = 0.0
fusion_droppath = 0.1
sub_sentence_present = True
"""


def build_groundingdino(files, text_encoder):
    """The original Grounding DINO (groundingdino package) with random weights, at
    `files["config"]` and `files["checkpoint"]`."""
    from groundingdino.models import build_model
    from groundingdino.util.slconfig import SLConfig

    config, checkpoint = Path(files["config"]), Path(files["checkpoint"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(GROUNDINGDINO_CONFIG.format(text_encoder=str(text_encoder)))
    torch.manual_seed(0)
    settings, text = literal_python_config(config, "smoke_models")  # as labeling reads it
    model = build_model(SLConfig(settings, cfg_text=text, filename=str(config)))
    torch.save({"model": model.state_dict()}, checkpoint)
    return {"config": str(config), "checkpoint": str(checkpoint), "text_encoder": str(text_encoder)}


def tiny_grounding_dino_config(config_class):
    """A tiny Swin + BERT configuration of transformers' Grounding DINO family
    (GroundingDinoConfig, MMGroundingDinoConfig)."""
    from transformers import SwinConfig

    backbone = SwinConfig(
        window_size=7,
        embed_dim=8,
        depths=[1, 1, 1, 1],
        num_heads=[1, 1, 1, 1],
        out_indices=[2, 3, 4],
    )
    text = {
        "model_type": "bert",
        "vocab_size": len(vocabulary()),
        "hidden_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": 256,
    }
    return config_class(
        backbone_config=backbone,
        text_config=text,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        num_queries=50,
        encoder_n_points=2,
        decoder_n_points=2,
        max_text_len=256,
    )


def save_grounding_dino_family(folder, model_class, config_class, text_encoder):
    """A tiny random model of `model_class` and Grounding DINO's processor in `folder`."""
    from transformers import BertTokenizerFast, GroundingDinoImageProcessor, GroundingDinoProcessor

    torch.manual_seed(0)
    model_class(tiny_grounding_dino_config(config_class)).save_pretrained(folder)
    tokenizer = BertTokenizerFast.from_pretrained(text_encoder)
    images = GroundingDinoImageProcessor(size={"shortest_edge": 256, "longest_edge": 427})
    GroundingDinoProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return {"model_dir": str(folder)}


def build_transformers_detector(files, text_encoder):
    """transformers' GroundingDinoForObjectDetection, tiny Swin and BERT, random weights."""
    from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection

    folder = Path(files["model_dir"])
    return save_grounding_dino_family(
        folder, GroundingDinoForObjectDetection, GroundingDinoConfig, text_encoder
    )


def build_mm_grounding_dino(folder, text_encoder):
    """transformers' MMGroundingDinoForObjectDetection (also LLMDet's class), tiny Swin and
    BERT, random weights; Grounding DINO's processor, as the hub's checkpoints have it."""
    from transformers import MMGroundingDinoConfig, MMGroundingDinoForObjectDetection

    return save_grounding_dino_family(
        Path(folder), MMGroundingDinoForObjectDetection, MMGroundingDinoConfig, text_encoder
    )


OWLV2_IMAGE_SIZE = 96  # 6x6 patches of 16: 36 query boxes


def build_clip_tokenizer(folder):
    """A tiny byte-level BPE vocabulary of CLIP's form: letters and digits, word ends
    (`</w>`), a few merges, and CLIP's start and end tokens."""
    from transformers import CLIPTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pieces = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?-'")
    merges = ["c a", "ca n</w>", "s o", "so d", "sod a</w>", "w o", "wo r"]
    tokens = pieces + [f"{p}</w>" for p in pieces] + [m.replace(" ", "") for m in merges]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    # OWLv2 pads every query to its 16 positions (model_max_length, as on the hub)
    return CLIPTokenizerFast(
        str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16
    )


def build_owlv2(folder):
    """transformers' Owlv2ForObjectDetection, a tiny ViT and text encoder, random weights,
    and Owlv2Processor (square padding, resize to OWLV2_IMAGE_SIZE)."""
    from transformers import (
        Owlv2Config,
        Owlv2ForObjectDetection,
        Owlv2ImageProcessor,
        Owlv2Processor,
    )

    folder = Path(folder)
    tokenizer = build_clip_tokenizer(folder / "tokenizer")
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "max_position_embeddings": 16,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    vision = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": OWLV2_IMAGE_SIZE,
        "patch_size": 16,
    }
    torch.manual_seed(0)
    config = Owlv2Config(text_config=text, vision_config=vision, projection_dim=32)
    Owlv2ForObjectDetection(config).save_pretrained(folder)
    size = {"height": OWLV2_IMAGE_SIZE, "width": OWLV2_IMAGE_SIZE}
    images = Owlv2ImageProcessor(size=size)
    Owlv2Processor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return {"model_dir": str(folder)}


def build_all(folder):
    """Every smoke model under `folder`, where plan.smoke_model_files says (the paths the
    rules hand to labeling jobs); returns the model settings that point at them."""
    files = smoke_model_files(folder)
    text_encoder = build_text_encoder(files["text_encoder"])
    settings = {
        "groundingdino": build_groundingdino(files["groundingdino"], text_encoder),
        "transformers": build_transformers_detector(files["transformers"], text_encoder),
        "sam2": build_sam2(files["sam2"]),
        "warning": WARNING,
    }
    (Path(folder) / "models.json").write_text(json.dumps(settings, indent=1) + "\n")
    return settings
