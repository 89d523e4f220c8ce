"""Loading SAM 2 once per job: one model serves both the image and the video predictor.

`config` is a packaged config name (sam2.1_hiera_t, _s, _b+, _l) or the path of a YAML
file of the same form (the smoke model's). Both go through the same steps as sam2's
build_sam2_video_predictor: the YAML's `model` with the video predictor as target and
the post-processing overrides, the checkpoint's "model" weights loaded strictly.
"""

from importlib import resources
from pathlib import Path

from omegaconf import OmegaConf

from .checkpoints import check_sam2_model_config, load_weights

PACKAGED = ("sam2.1_hiera_t", "sam2.1_hiera_s", "sam2.1_hiera_b+", "sam2.1_hiera_l")


def config_path(config):
    if config in PACKAGED:
        return Path(str(resources.files("sam2") / "configs" / "sam2.1" / f"{config}.yaml"))
    return Path(config)


def has_cuda_extension():
    try:
        from sam2 import _C  # noqa: F401  (built only with SAM2_BUILD_CUDA=1)
    except Exception:
        return False
    return True


def model_config(config):
    cfg = OmegaConf.load(config_path(config))
    # Before anything is built: a downloaded YAML must not name other code (checkpoints.py).
    unresolved = OmegaConf.to_container(cfg.model, resolve=False)
    check_sam2_model_config(unresolved, config_path(config), "models.sam2.config")
    model = cfg.model
    model._target_ = "sam2.sam2_video_predictor.SAM2VideoPredictor"
    model.sam_mask_decoder_extra_args = {
        "dynamic_multimask_via_stability": True,
        "dynamic_multimask_stability_delta": 0.05,
        "dynamic_multimask_stability_thresh": 0.98,
    }
    model.binarize_mask_from_pts_for_mem_enc = True
    # Hole filling needs sam2's CUDA extension; without it sam2 warns on every frame.
    model.fill_hole_area = 8 if has_cuda_extension() else 0
    OmegaConf.resolve(cfg)
    return model


def load_sam2(config, checkpoint, device):
    """A SAM2VideoPredictor on `device` (its model also backs the image predictor)."""
    from hydra.utils import instantiate

    model = instantiate(model_config(config), _recursive_=True)
    state = load_weights(checkpoint, "models.sam2.checkpoint")["model"]
    model.load_state_dict(state)  # strict: a wrong checkpoint for the config fails here
    return model.to(device).eval()


def image_predictor(video_model):
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    predictor = SAM2ImagePredictor(video_model)
    # The predictor hard-codes feature sizes for 1024-pixel models; derive them instead.
    size = video_model.image_size
    predictor._bb_feat_sizes = [(size // 4,) * 2, (size // 8,) * 2, (size // 16,) * 2]
    return predictor
