"""Loading SAM 2 once per job: one model serves both the image and the video predictor.

`config` is a packaged config name (sam2.1_hiera_t, _s, _b+, _l) or the path of a YAML
file of the same form (the smoke model's). Both go through the same steps as sam2's
build_sam2_video_predictor: the YAML's `model` with the video predictor as target and
the post-processing overrides, the checkpoint's "model" weights loaded strictly.
"""

import inspect
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


# SAM2ImagePredictor's private members used below, as sam2 1.1.0 (envs/label.yaml) has
# them: the method signatures our calls rely on, and the feature-size attribute.
PRIVATE_METHODS = {
    "_prep_prompts": (
        "self",
        "point_coords",
        "point_labels",
        "box",
        "mask_logits",
        "normalize_coords",
        "img_idx",
    ),
    "_predict": (
        "self",
        "point_coords",
        "point_labels",
        "boxes",
        "mask_input",
        "multimask_output",
        "return_logits",
        "img_idx",
    ),
}
PRIVATE_ATTRIBUTE = "_bb_feat_sizes"


def private_api_problems(predictor):
    """What of the private members used here `predictor` lacks or has changed (empty
    when it is sam2 1.1.0's)."""
    problems = []
    for name, parameters in PRIVATE_METHODS.items():
        method = getattr(type(predictor), name, None)
        found = tuple(inspect.signature(method).parameters) if callable(method) else None
        if found != parameters:
            problems.append(f"{name}{parameters} is {name}{found}" if found else f"no {name}")
    if not hasattr(predictor, PRIVATE_ATTRIBUTE):
        problems.append(f"no {PRIVATE_ATTRIBUTE}")
    return problems


def feature_sizes(image_size):
    """The backbone's three feature-map sizes for a model of `image_size` pixels."""
    return [(image_size // 4,) * 2, (image_size // 8,) * 2, (image_size // 16,) * 2]


def image_predictor(video_model):
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    predictor = SAM2ImagePredictor(video_model)
    problems = private_api_problems(predictor)
    if problems:
        raise RuntimeError(
            "sam2's SAM2ImagePredictor has changed: "
            + "; ".join(problems)
            + ". The labeling code uses these private members of sam2 1.1.0 (envs/label.yaml)."
        )
    # Private: set_image() reshapes the backbone's features to these sizes, hard-coded for
    # 1024-pixel models, and the constructor takes none; derive them (the smoke model's 256).
    predictor._bb_feat_sizes = feature_sizes(video_model.image_size)
    return predictor


def box_masks(predictor, boxes, img_idx=-1):
    """The masks and scores of SAM2ImagePredictor.predict(box=boxes, multimask_output=False)
    on the image set (`img_idx`: which image of set_image_batch; -1 after set_image), as
    (N, H, W) bool and (N,) tensors left on the device."""
    # Private: predict() is these two steps, then a copy of every mask to the host as
    # float32 numpy (4 bytes a pixel, and no batch axis for one box); mask_runs.py finds
    # the runs on the device instead. No public entry takes a batch of boxes and keeps
    # the result on the device.
    _, coords, labels, box = predictor._prep_prompts(None, None, boxes, None, True, img_idx)
    masks, scores, _ = predictor._predict(
        coords, labels, box, None, multimask_output=False, img_idx=img_idx
    )
    return masks[:, 0], scores[:, 0]
