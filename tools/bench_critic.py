"""Benchmark the critic's request rate against the stand-in endpoint (tests/fake_vlm, not a
model) answering every request after 50 ms, at concurrency 1 and 16 (issue #20 goal: at
least 10x from concurrency).

Each question carries a 320x180 JPEG as a data URL, as a label crop or a small frame would.
A fresh cache per run, so every question is asked. Run with `make bench`. Prints figures;
asserts nothing.
"""

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from synthdet.label import critic  # noqa: E402

LATENCY = 0.05
QUESTIONS = {1: 40, 16: 320}  # about 2 s of asking each


def questions(count, image):
    return [
        critic.Question({"n": n}, lambda n=n: critic.message_content(f"question {n}", [image]))
        for n in range(count)
    ]


def rate(base_url, concurrency, image):
    with tempfile.TemporaryDirectory() as folder:
        send = critic.chat_sender("standin", base_url, "bench", timeout=30)
        start = time.perf_counter()
        critic.ask_all(
            questions(QUESTIONS[concurrency], image),
            send,
            critic.VerdictCache(folder),
            concurrency,
            retries=0,
        )
        return QUESTIONS[concurrency] / (time.perf_counter() - start)


def main():
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), (90, 110, 130)).save(buffer, format="JPEG")
    # The stand-in in its own process: in this one it would compete for the interpreter.
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "fake_vlm" / "__init__.py"),
            "--latency",
            str(LATENCY),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")},  # it imports fake_llm
    )
    try:
        base_url = server.stdout.readline().strip()
        rates = {c: rate(base_url, c, buffer.getvalue()) for c in (1, 16)}
    finally:
        server.terminate()
        server.wait()
    print(
        f"critic: {rates[1]:.1f} items/s at concurrency 1, {rates[16]:.1f} items/s at "
        f"concurrency 16 ({rates[16] / rates[1]:.1f}x; goal 10x) against the stand-in "
        f"endpoint answering after {LATENCY * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
