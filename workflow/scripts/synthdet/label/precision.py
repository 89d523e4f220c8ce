"""Where the labeling models run and in which precision: one policy for both jobs.

- Grounding DINO always runs in float32, as upstream's own predict() does. Under bf16
  its scores near a threshold flip, and IDEA-Research's compiled ms_deform_attn (common
  where Grounded-SAM was installed) refuses bf16 input outright. TF32 matmuls on Ampere
  or newer are allowed: their error is far below a score's rounding.
- SAM 2 runs under bf16 autocast, as SAM 2's and Grounded-SAM-2's own demos run it, but
  only on GPUs with native bf16 (compute capability 8.0 or newer). Older GPUs (V100, T4)
  report bf16 as supported through emulation, which is slower than float32 there.
"""

import contextlib

import torch

NATIVE_BF16 = (8, 0)  # Ampere


def pick_device(requested="auto"):
    if requested != "auto":
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def native_bf16(device):
    """True on a CUDA device whose compute capability has bf16 in hardware."""
    return device.type == "cuda" and torch.cuda.get_device_capability(device) >= NATIVE_BF16


def configure_cuda(device):
    """TF32 matmuls and convolutions on Ampere or newer (float32 range, faster)."""
    if native_bf16(device):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def sam2_autocast(device):
    """The context SAM 2 runs in: bf16 autocast on native-bf16 GPUs, float32 elsewhere."""
    if native_bf16(device):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
