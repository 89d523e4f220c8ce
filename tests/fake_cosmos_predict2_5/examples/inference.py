"""Stand-in (tests only, not Cosmos) for examples/inference.py of Cosmos-Predict2.5,
release 2025-10-06: same arguments, params rules, log lines, exits and output names."""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

# The release runs with its package installed; here the checkout is this folder.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cosmos_predict2.config import MODELS, InferenceArguments  # noqa: E402

FPS = 16  # save_img_or_video(..., fps=16)


def log(level, message):
    """loguru's default format, on stderr, as the release logs."""
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    print(f"{stamp} | {level:<8} | cosmos_predict2.inference:generate - {message}", file=sys.stderr)
    sys.stderr.flush()


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("params_file", type=Path)
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--model", choices=MODELS, default="2B/post-trained")
    parser.add_argument("--checkpoint-path", default=None)
    parser.add_argument("--experiment", default=None)
    parser.add_argument("--context-parallel-size", type=int, default=None)
    for flag in ("--disable-guardrails", "--offload-guardrail-models"):
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=False)
    return parser.parse_args()


def record(args, data):
    calls = os.environ.get("FAKE_COSMOS_CALLS")
    if calls:
        entry = {"argv": sys.argv[1:], "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}
        with open(calls, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({**entry, "params": data}) + "\n")


def size(resolution):
    return (36, 64) if resolution == "none" else tuple(int(v) for v in resolution.split(","))


def save(name, sample, args, params):
    """NAME.jpg for one frame, else NAME.mp4 (the release's save_img_or_video)."""
    frames = int(os.environ.get("FAKE_COSMOS_FRAMES", params["num_output_frames"]))
    height, width = size(params["resolution"])
    if sample["input_path"] is not None:
        picture = Image.open(sample["input_path"]).convert("RGB").resize((width, height))
    else:
        picture = Image.new("RGB", (width, height), (params["seed"] % 256, 90, 140))
    output = args.output_dir / name
    if frames == 1:
        picture.save(f"{output}.jpg", "JPEG", quality=85)
    else:
        first = args.output_dir / f".{name}.png"
        picture.save(first)
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-loop", "1", "-i", str(first)]
            + ["-r", str(FPS), "-frames:v", str(frames), "-c:v", "mpeg4", f"{output}.mp4"],
            check=True,
        )
        first.unlink()
    log("INFO", f"Saved video for {name} to {output}.mp4")


def blocked_seed(seed):
    return str(seed) in os.environ.get("FAKE_COSMOS_BLOCK_SEEDS", "").split(",")


def generate(args, params):
    log("INFO", f"Running {params['inference_type']} generation")
    samples = params["samples"]
    for index, (name, sample) in enumerate(samples.items()):
        log("INFO", f"[{index + 1}/{len(samples)}] Processing sample {name}")
        prompt = sample["prompt"] or ""
        if not args.disable_guardrails:
            log("INFO", "Running guardrail check on prompt...")
            if "BLOCKME" in prompt or blocked_seed(params["seed"]):
                log("CRITICAL", "GUARDRAIL BLOCKED: Blocklist: the prompt has a blocked word")
                log("CRITICAL", "Guardrail blocked text2world generation. Prompt: {sample.prompt}")
                sys.exit(1)
            log("SUCCESS", "Passed guardrail on prompt")
            if "BLOCKVIDEO" in prompt:
                log("CRITICAL", "GUARDRAIL BLOCKED: VideoContentSafetyFilter: unsafe video")
                log("CRITICAL", "Guardrail blocked video2world generation.")
                sys.exit(1)
        save(name, sample, args, params)


def main():
    args = arguments()
    params = InferenceArguments.from_file(args.params_file)  # before any model, as the release
    record(args, json.loads(args.params_file.read_text(encoding="utf-8")))
    log("INFO", "fake cosmos-predict2.5: loading the model")
    time.sleep(float(os.environ.get("FAKE_COSMOS_SLEEP", "0")))
    code = int(os.environ.get("FAKE_COSMOS_EXIT", "0"))
    if code:
        for step in range(5):
            log("INFO", f"loading step {step}")
        log("ERROR", "CUDA out of memory (simulated)")
        sys.exit(code)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "config.yaml").write_text(f"model: {args.model}\n")
    generate(args, params)


if __name__ == "__main__":
    main()
