"""Fake `examples.text2image` (tests only): same flags and batch keys as Cosmos-Predict2."""

import argparse

from PIL import Image

from examples._fake import ASPECT_RATIOS, blocked, sidecar, start

parser = argparse.ArgumentParser()
parser.add_argument("--model_size", choices=["0.6B", "2B", "14B"], default="2B")
parser.add_argument("--batch_input_json", type=str, default=None)
parser.add_argument("--negative_prompt", type=str, default="")
parser.add_argument("--aspect_ratio", choices=ASPECT_RATIOS, default="16:9")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--save_path", type=str, default="output/generated_image.jpg")
parser.add_argument("--disable_guardrail", action="store_true")
parser.add_argument("--offload_guardrail", action="store_true")
args = parser.parse_args()

for index, item in enumerate(start(args)):
    prompt, output = item.get("prompt", ""), item.get("output_image", f"output_{index}.jpg")
    if not prompt:
        print(f"Skipping item {index}: Missing prompt")
        continue
    if blocked(prompt, args.seed):
        continue
    if "EMPTYFILE" in prompt:
        open(output, "wb").close()
        continue
    Image.new("RGB", (64, 36), (args.seed % 256, 90, 140)).save(output, "JPEG", quality=85)
    sidecar(output, prompt, args.negative_prompt)
