"""`make gpu-check`: the demo's image labeling on CUDA and on the CPU, compared.

On a CUDA machine it labels the demo's kind of images (the procedural stand-in's scenes,
320x180) with each detector backend on the GPU and on the CPU, checks that the GPU's
candidates agree with the CPU's within TOLERANCES, and prints one table: images/s per
backend, device and batch size, GPU memory peak, agreement, with the precision policy
(synthdet/label/precision.py) in effect. Smoke models (random weights) unless the real
checkpoints that config/config.yaml's `models:` names are present (`snakemake
fetch_models`). Without a GPU it fails loudly (exit 2); `make test` never runs it.
"""

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from synthdet.core import boxes as box_ops  # noqa: E402
from synthdet.core import manifest, rle  # noqa: E402
from synthdet.core.atomic import write_json  # noqa: E402
from synthdet.generate import procedural  # noqa: E402
from synthdet.label import image_labeling, label_models, precision, smoke_models  # noqa: E402
from synthdet.label.job_io import made_with_seed  # noqa: E402
from synthdet.label.job_settings import label_settings  # noqa: E402
from synthdet.setup.config import checked_config  # noqa: E402
from synthdet.setup.plan import SMOKE_IMAGE_SIZE  # noqa: E402

# GPU vs CPU, per candidate matched by box IoU. Grounding DINO runs in float32 (TF32
# matmuls on Ampere+): its boxes and scores move little. SAM 2 runs under bf16 autocast
# there, so masks get a looser bound.
TOLERANCES = {"box_px": 2.0, "score": 0.02, "mask_iou": 0.9}
IMAGES, WIDTH, HEIGHT = 6, 320, 180
NO_GPU = (
    "gpu-check needs a CUDA GPU and found none: torch.cuda.is_available() is False "
    "(torch {torch}, built for CUDA {cuda}). Run it on a GPU node, e.g. "
    "`srun --gres=gpu:1 make gpu-check`; `make test` does not run it."
)


def require_cuda():
    if not torch.cuda.is_available():
        print(NO_GPU.format(torch=torch.__version__, cuda=torch.version.cuda), file=sys.stderr)
        raise SystemExit(2)
    return torch.device("cuda")


def demo_setup():
    """The demo dataset (defaults filled), its classes, and the config's `models:`."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    checked, templates = checked_config(config, "config/config.yaml")
    return checked["datasets"]["demo"], templates["demo"]["classes"], checked["models"]


def demo_images(folder, classes):
    entries = []
    for index in range(IMAGES):
        prompt = "three soda cans and a worker in a hard hat by a forklift"
        scene = procedural.compose_scene(f"p{index}", 0, prompt, classes, WIDTH, HEIGHT)
        path = folder / f"p{index}.jpg"
        procedural.render(scene)[0].save(path, quality=95)
        entries.append({"id": f"p{index}", "status": "made", "path": str(path)})
    path = folder / "images.manifest.json"
    write_json(path, manifest.build("text2image", "gpu-check", 0, "procedural", entries))
    return made_with_seed([path])


def real_checkpoints_present(models):
    detector, sam2 = models["detector"], models["sam2"]
    named = [detector.get("checkpoint") or detector.get("model_dir"), sam2.get("checkpoint")]
    return all(path and (ROOT / path).exists() for path in named)


def model_choices(models, folder):
    """{backend: model settings}: the real checkpoints if present, else both smoke models."""
    if real_checkpoints_present(models):
        real = {**models, "detector": {**models["detector"]}}
        for section in ("detector", "sam2"):
            for key, value in real[section].items():
                if isinstance(value, str) and (ROOT / value).exists():
                    real[section][key] = str(ROOT / value)
        return {models["detector"]["backend"]: real}, "real checkpoints"
    smoke = smoke_models.build_all(folder / "smoke")
    choices = {}
    for backend in ("groundingdino", "transformers"):
        detector = {"backend": backend, "image_size": SMOKE_IMAGE_SIZE, **smoke[backend]}
        choices[backend] = {"smoke": True, "detector": detector, "sam2": smoke["sam2"]}
    return choices, "smoke models (random weights)"


def job_settings(labeling, batch_size):
    params = {k: labeling[k] for k in ("candidate_floor", "max_candidates")}
    return label_settings("images", params, images_per_batch=batch_size)


def label_run(settings, device, images, classes, labeling, batch_size, out):
    """(candidates items, images/s, GPU memory peak in MiB or None) of one labeling run."""
    models = label_models.load_models({**settings, "device": str(device)}, classes)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    image_labeling.label_images(
        images, out, job_settings(labeling, batch_size), models, io.StringIO()
    )
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None
    return json.loads(Path(out).read_text())["items"], len(images) / seconds, peak


def paired(reference, other):
    """Greedy pairs (i, j) of two candidate lists by box IoU, best first."""
    if not reference or not other:
        return []
    ious = box_ops.iou_matrix(
        np.array([c["box"] for c in reference]), np.array([c["box"] for c in other])
    )
    pairs, used = [], set()
    for i in np.argsort(-ious.max(axis=1), kind="stable"):
        j = next((j for j in np.argsort(-ious[i]) if j not in used), None)
        if j is not None:
            used.add(j)
            pairs.append((int(i), int(j)))
    return pairs


def unpaired_ok(candidates, paired_at, floor):
    """A candidate only one side kept is fine when its best score sits at the floor."""
    return all(
        max(c["scores"]) < floor + TOLERANCES["score"]
        for k, c in enumerate(candidates)
        if k not in paired_at
    )


def agreement(cpu_items, gpu_items, floor):
    """The worst differences between the CPU's and the GPU's candidates, and whether they
    are within TOLERANCES."""
    worst = {"box_px": 0.0, "score": 0.0, "mask_iou": 1.0, "unpaired": 0}
    ok = True
    for cpu, gpu in zip(cpu_items, gpu_items, strict=True):
        a, b = cpu["candidates"], gpu["candidates"]
        pairs = paired(a, b)
        for i, j in pairs:
            worst["box_px"] = max(
                worst["box_px"], float(np.abs(np.subtract(a[i]["box"], b[j]["box"])).max())
            )
            worst["score"] = max(
                worst["score"], float(np.abs(np.subtract(a[i]["scores"], b[j]["scores"])).max())
            )
            mask_iou = float(rle.iou_matrix([a[i]["mask"]], [b[j]["mask"]])[0, 0])
            worst["mask_iou"] = min(worst["mask_iou"], mask_iou)
        worst["unpaired"] += len(a) + len(b) - 2 * len(pairs)
        ok &= unpaired_ok(a, {i for i, _ in pairs}, floor)
        ok &= unpaired_ok(b, {j for _, j in pairs}, floor)
    ok &= worst["box_px"] <= TOLERANCES["box_px"] and worst["score"] <= TOLERANCES["score"]
    ok &= worst["mask_iou"] >= TOLERANCES["mask_iou"]
    return worst, bool(ok)


def policy_lines(device):
    """The precision policy in effect on `device` (precision.py), as the labeling job sets it."""
    precision.configure_cuda(device)
    bf16 = precision.native_bf16(device)
    if device.type == "cuda":
        capability = ".".join(map(str, torch.cuda.get_device_capability(device)))
        where = f"{torch.cuda.get_device_name(device)} (compute capability {capability})"
    else:
        where = "cpu"
    tf32 = "on" if device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32 else "off"
    sam2 = "bf16 autocast" if bf16 else "float32 (no native bf16 here)"
    return [
        f"device under test: {where}, torch {torch.__version__}",
        f"precision policy: Grounding DINO float32, TF32 matmuls {tf32}; SAM 2 {sam2}",
        "tolerances (GPU vs CPU, per candidate): box <= {box_px} px, class score <= {score}, "
        "mask IoU >= {mask_iou}".format(**TOLERANCES),
    ]


def table(rows):
    header = f"{'backend':14s} {'device':6s} {'batch':>5s} {'images/s':>9s} {'GPU peak MiB':>12s}  agreement with CPU"
    lines = [header, "-" * len(header)]
    for row in rows:
        peak = f"{row['peak']:.0f}" if row["peak"] is not None else "-"
        lines.append(
            f"{row['backend']:14s} {row['device']:6s} {row['batch']:5d} {row['rate']:9.2f} "
            f"{peak:>12s}  {row.get('agreement', '(reference)')}"
        )
    return "\n".join(lines)


def describe(worst, ok):
    return (
        f"{'PASS' if ok else 'FAIL'}: box {worst['box_px']:.2f} px, score {worst['score']:.4f}, "
        f"mask IoU {worst['mask_iou']:.3f}, {worst['unpaired']} unpaired"
    )


def check(folder, gpu):
    """Label on the CPU and on `gpu`, compare, print the table; True when they agree."""
    ds, classes, models = demo_setup()
    labeling = ds["labeling"]
    batch_sizes = sorted({1, int(labeling.get("batch_size", 1))})
    images = demo_images(folder, classes)
    choices, which = model_choices(models, folder)
    rows, all_ok = [], True
    for backend, settings in choices.items():
        for batch in batch_sizes:
            runs = [
                label_run(settings, device, images, classes, labeling, batch, out)
                for device, out in (
                    (torch.device("cpu"), folder / f"{backend}-{batch}-reference.json"),
                    (gpu, folder / f"{backend}-{batch}-test.json"),
                )
            ]
            for device, (_, rate, peak) in zip(("cpu", gpu.type), runs):
                rows.append(
                    {
                        "backend": backend,
                        "device": device,
                        "batch": batch,
                        "rate": rate,
                        "peak": peak,
                    }
                )
            worst, ok = agreement(runs[0][0], runs[1][0], labeling["candidate_floor"])
            rows[-1]["agreement"] = describe(worst, ok)
            all_ok &= ok
    print("\n".join(policy_lines(gpu)))
    print(f"models: {which}; {IMAGES} procedural demo images of {WIDTH}x{HEIGHT}")
    print(table(rows))
    return all_ok


def main():
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    os.chdir(ROOT)  # the config names its templates relative to the project
    with tempfile.TemporaryDirectory() as tmp:
        ok = check(Path(tmp), require_cuda())
    print("gpu-check: " + ("PASS" if ok else "FAIL: GPU and CPU candidates disagree"))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
