"""Fake `examples.video2world` (tests only): same flags and batch keys as Cosmos-Predict2."""

import argparse
import subprocess

import imageio_ffmpeg

from examples._fake import ASPECT_RATIOS, blocked, sidecar, start

parser = argparse.ArgumentParser()
parser.add_argument("--model_size", choices=["2B", "14B"], default="2B")
parser.add_argument("--resolution", choices=("480", "720"), default="720", type=str)
parser.add_argument("--fps", choices=(10, 16), default=16, type=int)
parser.add_argument("--aspect_ratio", choices=ASPECT_RATIOS, default="16:9")
parser.add_argument("--num_gpus", type=int, default=1)
parser.add_argument("--batch_input_json", type=str, default=None)
parser.add_argument("--negative_prompt", type=str, default="")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--save_path", type=str, default="output/generated_video.mp4")
for flag in (
    "--disable_guardrail",
    "--offload_guardrail",
    "--disable_prompt_refiner",
    "--offload_prompt_refiner",
):
    parser.add_argument(flag, action="store_true")
args = parser.parse_args()
FRAMES = {16: 93, 10: 61}[args.fps]

for index, item in enumerate(start(args)):
    if "input_video" not in item or "prompt" not in item:
        print(f"Skipping item {index}: Missing input_video or prompt")
        continue
    if blocked(item["prompt"], args.seed):
        continue
    output = item.get("output_video", f"output_{index}.mp4")
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-loop",
            "1",
            "-i",
            item["input_video"],
            "-vf",
            "scale=64:36",
            "-r",
            str(args.fps),
            "-frames:v",
            str(FRAMES),
            "-c:v",
            "mpeg4",
            output,
        ],
        check=True,
    )
    sidecar(output, item["prompt"], args.negative_prompt)
