"""Benchmark the tuning page's filter in headless Chromium (issue #11 target: re-filtering
1,000 items in under 50 ms).

A page over 1,000 synthetic 1280x704 images with 20 candidates each (random class scores
and boxes, one shared mask), re-filtered at the default thresholds and with every
candidate kept (box_threshold at the 0.05 floor: NMS over all 20). Needs Debian's chromium
and chromium-driver. Run with `make bench`. Prints figures; asserts nothing.
"""

import random
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

import browser  # noqa: E402
from synthdet.core import rle  # noqa: E402
from synthdet.report import tune  # noqa: E402
from synthdet.setup.config import default_thresholds  # noqa: E402

ITEMS, CANDIDATES, WIDTH, HEIGHT = 1000, 20, 1280, 704
CLASSES = ["can", "person", "forklift"]
SETTINGS = default_thresholds()


def units(image_path, rng):
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[100:300, 200:400] = True
    shared = rle.encode(mask)
    made = []
    for index in range(ITEMS):
        candidates = []
        for _ in range(CANDIDATES):
            x, y = rng.uniform(0, WIDTH - 200), rng.uniform(0, HEIGHT - 200)
            box = [x, y, x + rng.uniform(10, 200), y + rng.uniform(10, 200)]
            candidates.append(
                {
                    "box": box,
                    "scores": [round(rng.uniform(0.05, 1), 4) for _ in CLASSES],
                    "mask": shared,
                    "mask_box": box,
                    "mask_area": 40000,
                    "mask_score": 0.9,
                }
            )
        made.append(
            {
                "kind": "image",
                "part": 0,
                "name": f"seed0_p{index:012x}.jpg",
                "image": str(image_path),
                "width": WIDTH,
                "height": HEIGHT,
                "candidates": candidates,
            }
        )
    return made


def main():
    reason = browser.missing()
    if reason:
        print(f"bench_tune: skipped, {reason}")
        return
    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder, "image.jpg")
        Image.new("RGB", (WIDTH, HEIGHT), (90, 110, 130)).save(image)
        page = Path(folder, "index.html")
        data = tune.page_data("bench", units(image, random.Random(0)), CLASSES, SETTINGS)
        page.write_text(tune.render(data), encoding="utf-8")
        chromium = browser.Browser()
        try:
            chromium.open(page.as_uri())
            default = chromium.run("return window.tune.benchmark(arguments[0], 11)", ITEMS)
            chromium.run(
                "window.tune.setSettings(arguments[0])", {**SETTINGS, "box_threshold": 0.05}
            )
            everything = chromium.run("return window.tune.benchmark(arguments[0], 11)", ITEMS)
        finally:
            chromium.close()
    print(
        f"tune page: re-filter {ITEMS} images x {CANDIDATES} candidates in Chromium "
        f"(median of 11): {default:.1f} ms at the default thresholds, "
        f"{everything:.1f} ms keeping every candidate (target: 50 ms)"
    )


if __name__ == "__main__":
    main()
