"""Where the smoke models live: label/smoke_models.build_all writes them there and
setup/plan.py hands the same paths to the labeling jobs, so the table lives below both."""

SMOKE_MODELS_DIR = "results/smoke_models"
# The SAM 3 smoke model: built by its own rule in the SAM 3 environment (transformers 5).
SMOKE_SAM3_DIR = "results/smoke_sam3"


def smoke_model_files(folder=SMOKE_MODELS_DIR):
    """The file (or folder) of each tiny model under `folder`."""
    return {
        "text_encoder": f"{folder}/bert",
        "groundingdino": {
            "config": f"{folder}/groundingdino/groundingdino_smoke.py",
            "checkpoint": f"{folder}/groundingdino/groundingdino_smoke.pth",
        },
        "transformers": {"model_dir": f"{folder}/transformers"},
        "sam2": {
            "config": f"{folder}/sam2/sam2_smoke.yaml",
            "checkpoint": f"{folder}/sam2/sam2_smoke.pt",
        },
    }
