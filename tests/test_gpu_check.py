"""tools/gpu_check.py (`make gpu-check`): it fails loudly without a GPU, and its
comparison of GPU and CPU candidates holds the stated tolerances. The GPU run itself
needs a CUDA machine: `make test` never runs it."""

import subprocess
import sys

import numpy as np

from conftest import ROOT
from synthdet.core import rle

sys.path.insert(0, str(ROOT / "tools"))
import gpu_check  # noqa: E402


def test_without_a_gpu_it_fails_loudly_instead_of_skipping():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gpu_check.py")],
        capture_output=True,
        text=True,
        env={"CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 2
    assert "gpu-check needs a CUDA GPU and found none" in result.stderr


def candidate(box, score, shift=0):
    mask = np.zeros((40, 60), bool)
    x1, y1, x2, y2 = box
    mask[y1 + shift : y2 + shift, x1:x2] = True
    return {"box": list(map(float, box)), "scores": [score, 0.01], "mask": rle.encode(mask)}


def items(*candidates):
    return [{"id": "p0", "candidates": list(candidates)}]


def test_candidates_within_the_tolerances_agree():
    cpu = items(candidate((5, 5, 20, 20), 0.50), candidate((30, 10, 50, 30), 0.30))
    gpu = items(candidate((31, 10, 51, 30), 0.31), candidate((5, 5, 20, 20), 0.51))
    worst, ok = gpu_check.agreement(cpu, gpu, floor=0.05)
    assert ok and worst["box_px"] == 1.0 and abs(worst["score"] - 0.01) < 1e-9


def test_a_moved_box_a_changed_score_or_a_changed_mask_disagrees():
    cpu = items(candidate((5, 5, 20, 20), 0.50))
    assert not gpu_check.agreement(cpu, items(candidate((5, 5, 24, 20), 0.50)), 0.05)[1]
    assert not gpu_check.agreement(cpu, items(candidate((5, 5, 20, 20), 0.55)), 0.05)[1]
    worst, ok = gpu_check.agreement(cpu, items(candidate((5, 5, 20, 20), 0.50, shift=8)), 0.05)
    assert not ok and worst["mask_iou"] < 0.9


def test_a_candidate_only_one_side_kept_is_fine_only_at_the_floor():
    cpu = items(candidate((5, 5, 20, 20), 0.50), candidate((30, 10, 50, 30), 0.06))
    assert gpu_check.agreement(cpu, items(candidate((5, 5, 20, 20), 0.50)), 0.05)[1]
    cpu = items(candidate((5, 5, 20, 20), 0.50), candidate((30, 10, 50, 30), 0.40))
    worst, ok = gpu_check.agreement(cpu, items(candidate((5, 5, 20, 20), 0.50)), 0.05)
    assert not ok and worst["unpaired"] == 1
