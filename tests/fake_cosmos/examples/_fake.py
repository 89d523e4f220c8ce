"""Shared by the fake Cosmos entry points (tests only; not Cosmos)."""

import json
import os
import sys
import time
from pathlib import Path

ASPECT_RATIOS = ["1:1", "4:3", "3:4", "16:9", "9:16"]


def start(args):
    calls = os.environ.get("FAKE_COSMOS_CALLS")
    if calls:
        record = {"argv": sys.argv[1:], "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}
        with open(calls, "a") as handle:
            handle.write(json.dumps(record) + "\n")
    print("fake cosmos: loading the model", flush=True)
    time.sleep(float(os.environ.get("FAKE_COSMOS_SLEEP", "0")))  # a run that outlives its limit
    code = int(os.environ.get("FAKE_COSMOS_EXIT", "0"))
    if code:
        for line in range(5):
            print(f"fake cosmos: loading step {line}")
        print("fake cosmos: CUDA out of memory (simulated)")
        sys.exit(code)
    Path(os.path.splitext(args.save_path)[0] + ".yaml").write_text(f"seed: {args.seed}\n")
    with open(args.batch_input_json) as handle:
        return json.load(handle)


def blocked(prompt, seed):
    if "BLOCKME" in prompt or str(seed) in os.environ.get("FAKE_COSMOS_BLOCK_SEEDS", "").split(","):
        print(f"GUARDRAIL BLOCKED: prompt {prompt[:30]!r}", flush=True)
        return True
    return False


def sidecar(output, prompt, negative_prompt):
    text = f"[Prompt]\n{prompt}\n"
    if negative_prompt:
        text += f"[Negative Prompt]\n{negative_prompt}\n"
    Path(os.path.splitext(output)[0] + ".txt").write_text(text)
