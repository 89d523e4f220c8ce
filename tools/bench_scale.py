"""Scale benchmark of the CPU stages after labeling (issue #21).

Synthetic candidates for N items (images, and frames of tracked videos; 1280x704, masks
are RLEs of irregular blobs covering 2-5 % of the frame; 68 items a seed, 15 seeds a
labeling part) go through filter_labels (a job per part), every export (a job per export
shard of 5 parts, as `exports.shard_parts: 5` runs them; `--unsharded`: one job each),
the COCO merge and YOLO data.yaml that join the shards, the statistics, the summary and
the tuning page. Each job runs in its own child process calling the package function its
rule's entry script calls. Printed per rule and size: the wall time of all its jobs one
after another, the largest job's peak RSS (os.wait4 of the child), the job count, and a
linear extrapolation to 1,000,000 items: time per item of the largest size, peak RSS
of a dataset-wide job through the two largest sizes (a per-part or per-shard job keeps
its size).

    .venv/bin/python tools/bench_scale.py                 # 10,000 and 100,000 items
    .venv/bin/python tools/bench_scale.py --items 2000 4000    # a quick look

Images are small stand-in JPEGs (exports link them and read their header, never decode
them; the tuning page decodes its sample). Prints figures; asserts nothing.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from synthdet.core import manifest, rle  # noqa: E402
from synthdet.core.atomic import write_json  # noqa: E402
from synthdet.setup.config import default_thresholds  # noqa: E402

WIDTH, HEIGHT = 1280, 704
CLASSES = ["can", "person", "forklift"]
IMAGES_PER_SEED, VIDEOS_PER_SEED, FRAMES_PER_VIDEO = 20, 2, 24
ITEMS_PER_SEED = IMAGES_PER_SEED + VIDEOS_PER_SEED * FRAMES_PER_VIDEO  # 68
SEEDS_PER_PART = 15  # about 1,000 items per labeling part
CANDIDATES, TRACKS, DETECT_EVERY = 8, 4, 4
SPLIT = {"test_fraction": 0.2, "seed": 0}
TUNE_ITEMS = 200
SHARD_ITEMS = 5100  # items per export shard: exports.shard_parts 5 of these parts
PROJECTED = 1_000_000


def blob_pool(rng, count=48):
    """(rle, box, area) of irregular blobs, each in its own cell of a 4x2 grid so that the
    candidates of one image do not suppress each other."""
    rows, cols = np.mgrid[:HEIGHT, :WIDTH]
    pool = []
    for index in range(count):
        cell = index % 8
        cx, cy = (cell % 4 + 0.5) * WIDTH / 4, (cell // 4 + 0.5) * HEIGHT / 2
        radius = np.sqrt(rng.uniform(0.02, 0.05) * WIDTH * HEIGHT / np.pi)
        angle = np.arctan2(rows - cy, cols - cx)
        wobble = 1 + 0.15 * np.sin(3 * angle + rng.uniform(0, 6)) + 0.08 * np.sin(7 * angle)
        mask = np.hypot((cols - cx) / 1.3, (rows - cy) / 0.8) <= radius * wobble
        encoded = rle.encode(mask)
        pool.append((encoded, rle.bbox_xyxy(encoded), rle.area(encoded)))
    return pool


def scores(rng):
    return [round(float(v), 4) for v in rng.uniform(0.05, 0.6, len(CLASSES))]


def image_candidates(rng, pool):
    chosen = rng.choice(len(pool) // 8, CANDIDATES) * 8 + np.arange(CANDIDATES) % 8
    return [
        {
            "box": [v + float(rng.uniform(-4, 4)) for v in pool[i][1]],
            "scores": scores(rng),
            "mask": pool[i][0],
            "mask_box": pool[i][1],
            "mask_area": pool[i][2],
            "mask_score": 0.9,
        }
        for i in chosen
    ]


def video_tracks(rng, pool):
    tracks = []
    for track in range(TRACKS):
        keyframes = list(range(0, FRAMES_PER_VIDEO, DETECT_EVERY))
        masks = {}
        for frame in range(FRAMES_PER_VIDEO):
            encoded, box, area = pool[(track + 8 * (frame % 6)) % len(pool)]
            masks[str(frame)] = {"mask": encoded, "box": box, "area": area}
        tracks.append(
            {
                "track": track,
                "scores": [scores(rng) for _ in keyframes],
                "detected_at": keyframes,
                "windows": [
                    {
                        "first": k,
                        "last": min(k + DETECT_EVERY, FRAMES_PER_VIDEO) - 1,
                        "detection": i,
                    }
                    for i, k in enumerate(keyframes)
                ],
                "masks": masks,
            }
        )
    return tracks


def write_seed(folder, seed, rng, pool, jpeg):
    """The seed's images and frames (stand-in JPEGs), manifests and candidate items."""
    images, videos, made = [], [], {"text2image": [], "video2world": [], "frames": []}
    image_dir = folder / "images" / f"seed{seed}"
    image_dir.mkdir(parents=True)
    for index in range(IMAGES_PER_SEED):
        prompt = f"p{index:012x}"
        path = image_dir / f"{prompt}.jpg"
        path.write_bytes(jpeg)
        made["text2image"].append({"id": prompt, "status": "made", "path": str(path)})
        images.append(
            {
                "id": prompt,
                "seed": seed,
                "image": str(path),
                "width": WIDTH,
                "height": HEIGHT,
                "candidates": image_candidates(rng, pool),
            }
        )
    for index in range(VIDEOS_PER_SEED):
        prompt = f"p{index:012x}"
        frames_dir = folder / "frames" / f"seed{seed}" / prompt
        frames_dir.mkdir(parents=True)
        frames = [{"file": f"{f:05d}.jpg", "source_index": 4 * f} for f in range(FRAMES_PER_VIDEO)]
        for frame in frames:
            (frames_dir / frame["file"]).write_bytes(jpeg)
        made["video2world"].append({"id": prompt, "status": "made", "path": f"{prompt}.mp4"})
        made["frames"].append(
            {"id": prompt, "status": "made", "path": str(frames_dir), "frames": frames}
        )
        videos.append(
            {
                "id": prompt,
                "seed": seed,
                "frames_dir": str(frames_dir),
                "frames": frames,
                "width": WIDTH,
                "height": HEIGHT,
                "max_missed": 1,
                "tracks": video_tracks(rng, pool),
            }
        )
    for stage, entries in made.items():
        path = folder / "manifests" / stage / f"seed{seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, manifest.build(stage, "bench", seed, "cosmos", entries))
    return images, videos


def stand_in_jpeg():
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 35), (90, 120, 150)).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_dataset(folder, items):
    """Candidates of ceil(items / 68) seeds, 15 seeds a part. Returns the part count."""
    rng = np.random.default_rng(0)
    pool, jpeg = blob_pool(rng), stand_in_jpeg()
    per_seed = ITEMS_PER_SEED
    seeds = -(-items // per_seed)
    parts = -(-seeds // SEEDS_PER_PART)
    (folder / "candidates").mkdir(parents=True)
    for part in range(parts):
        images, videos = [], []
        for seed in range(part * SEEDS_PER_PART, min((part + 1) * SEEDS_PER_PART, seeds)):
            seed_images, seed_videos = write_seed(folder, seed, rng, pool, jpeg)
            images += seed_images
            videos += seed_videos
        for kind, kind_items in (("images", images), ("frames", videos)):
            write_json(
                folder / "candidates" / f"{kind}.part{part}.json",
                {"kind": kind, "classes": CLASSES, "items": kind_items, "skipped": []},
                compact=True,
            )
    write_json(folder / "prompts.json", {"prompts": [{"id": f"p{i:012x}"} for i in range(20)]})
    return seeds * per_seed, parts


# --- what each rule runs, in a child process (`--stage NAME --data DIR`) -------------------


def label_paths(data):
    return sorted((data / "labels").glob("part*.json"), key=lambda p: int(p.stem[4:]))


def manifests(data):
    return {
        stage: sorted((data / "manifests" / source).glob("*.json"))
        for stage, source in (
            ("images", "text2image"),
            ("videos", "video2world"),
            ("frames", "frames"),
        )
    }


def run_filter_labels(data, part):
    from synthdet.label import label_filter

    inputs = {
        kind: data / "candidates" / f"{kind}.part{part}.json" for kind in ("images", "frames")
    }
    (data / "labels").mkdir(exist_ok=True)
    label_filter.filter_part(
        inputs, data / "labels" / f"part{part}.json", default_thresholds(), "bench", int(part)
    )


def shard_paths(data, shard):
    """Labels of export shard `shard` (None: every part, as an unsharded export reads)."""
    paths = label_paths(data)
    if shard is None:
        return paths, data / "out", 0
    per_shard = SHARD_ITEMS // (SEEDS_PER_PART * ITEMS_PER_SEED)
    return paths[int(shard) * per_shard : (int(shard) + 1) * per_shard], data / "out", int(shard)


def shard_dir(out, export, shard):
    return out / export / f"shard{shard}"


def run_export_voc(data, shard):
    from synthdet.export import voc_format

    labels, out, index = shard_paths(data, shard)
    voc_format.export_voc(labels, shard_dir(out, "voc", index), "skip", SPLIT)
    voc_format.export_edge_impulse(labels, shard_dir(out, "edge_impulse", index), "skip", SPLIT)


def run_export_coco(data, shard):
    from synthdet.export import coco_format

    labels, out, index = shard_paths(data, shard)
    coco_format.export_coco(labels, shard_dir(out, "coco", index), "bench", "skip", SPLIT, index)


def run_export_yolo(data, shard):
    from synthdet.export import yolo_format

    labels, out, index = shard_paths(data, shard)
    yolo_format.export_yolo(labels, shard_dir(out, "yolo", index), "skip", SPLIT)


def run_export_mot(data, shard):
    from synthdet.export import mot

    labels, out, index = shard_paths(data, shard)
    mot.export_mot(labels, shard_dir(out, "mot", index), "skip", SPLIT, 4, index)


def run_merge_coco(data, _):
    from synthdet.export import coco_merge

    shards = sorted((data / "out" / "coco").glob("shard*"), key=lambda p: int(p.name[5:]))
    for side in ("train", "test"):
        target = data / "out" / "coco" / "annotations" / f"instances_{side}.json"
        coco_merge.merge_side(shards, side, target, f"bench ({side})")


def run_yolo_data_yaml(data, _):
    from synthdet.export import yolo_format

    shards = sorted((data / "out" / "yolo").glob("shard*"), key=lambda p: int(p.name[5:]))
    for task in ("detect", "segment"):
        target = data / "out" / "yolo" / task / "data.yaml"
        yolo_format.write_sharded_data_yaml(shards, task, target)


def run_dataset_stats(data, _):
    from synthdet.report import stats

    out = data / "out" / "stats"
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "stats.json", "csv": out / "per_class.csv", "plot": out / "plot.png"}
    stats.dataset_stats(label_paths(data), manifests(data), None, paths)


def run_summarize_dataset(data, _):
    from synthdet.report import summary

    result = summary.summarize(
        "bench",
        data / "prompts.json",
        manifests(data),
        {"images": True, "frames": True},
        label_paths(data),
    )
    write_json(data / "out" / "summary.json", result)


def run_tune_page(data, _):
    from synthdet.report import tune

    files = {
        "images": sorted((data / "candidates").glob("images.part*.json")),
        "frames": sorted((data / "candidates").glob("frames.part*.json")),
    }
    by_part = {}
    for kind, paths in files.items():
        for path in paths:
            by_part.setdefault(int(path.stem.split("part")[1]), {})[kind] = str(path)
    out = data / "out" / "tune" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tune.write_page(out, "bench", by_part, default_thresholds(), TUNE_ITEMS)


STAGES = {
    "filter_labels": run_filter_labels,
    "export_voc": run_export_voc,
    "export_coco": run_export_coco,
    "export_yolo": run_export_yolo,
    "export_mot": run_export_mot,
    "merge_coco": run_merge_coco,
    "yolo_data_yaml": run_yolo_data_yaml,
    "dataset_stats": run_dataset_stats,
    "summarize_dataset": run_summarize_dataset,
    "tune_page": run_tune_page,
}


def child(stage, data, part=None):
    """(wall seconds, peak RSS in bytes) of one rule's work in a child process."""
    argv = [sys.executable, __file__, "--stage", stage, "--data", str(data)]
    if part is not None:
        argv += ["--part", str(part)]
    start = time.perf_counter()
    process = subprocess.Popen(argv)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{stage} failed with exit code {process.returncode}")
    return seconds, usage.ru_maxrss * 1024  # Linux reports kilobytes


SHARDED = ("export_voc", "export_coco", "export_yolo", "export_mot")
JOINING = ("merge_coco", "yolo_data_yaml")


def jobs(stage, data, units):
    """(total wall s, largest peak RSS, job count) of every job of a rule."""
    walls, peak = [], 0
    for unit in units:
        seconds, rss = child(stage, data, unit)
        walls.append(seconds)
        peak = max(peak, rss)
    return sum(walls), peak, len(walls)


def measure(items, unsharded, keep=None):
    """{rule: (wall s, peak RSS, jobs)} for a dataset of about `items` items."""
    with tempfile.TemporaryDirectory(dir=keep) as tmp:
        data = Path(tmp)
        start = time.perf_counter()
        items, parts = make_dataset(data, items)
        print(f"  {items:,} items in {parts} parts made in {time.perf_counter() - start:.0f} s")
        per_shard = SHARD_ITEMS // (SEEDS_PER_PART * ITEMS_PER_SEED)
        shards = [None] if unsharded else list(range(-(-parts // per_shard)))
        results = {}
        for stage in STAGES:
            if unsharded and stage in JOINING:
                continue
            units = range(parts) if stage == "filter_labels" else [None]
            results[stage] = jobs(stage, data, shards if stage in SHARDED else units)
            seconds, rss, count = results[stage]
            print(f"  {stage}: {count} jobs, {seconds:.1f} s, {rss / 2**20:.0f} MB", flush=True)
        return items, results


def linear(sizes, values, target):
    """`values` at `sizes` extended to `target`: the line through the two largest sizes
    (a fixed cost plus a cost per item), or through zero from one size."""
    if len(sizes) == 1:
        return values[0] * target / sizes[0]
    (n1, v1), (n2, v2) = list(zip(sizes, values))[-2:]
    slope = (v2 - v1) / (n2 - n1)
    return v2 + slope * (target - n2)


def table(measured):
    """`measured`: {items: {rule: (wall s, peak RSS, jobs)}}."""
    sizes = sorted(measured)
    head = "".join(f"{f'{n:,} items':>24s}" for n in sizes)
    print(f"\n{'rule':18s}{head}{'1,000,000 (linear)':>24s}")
    for stage in measured[sizes[-1]]:
        rows = [measured[n][stage] for n in sizes]
        cells = "".join(f"{w:8.1f} s {r / 2**20:6.0f} MB {j:4d}" for w, r, j in rows)
        # Time from the largest size alone (per item): on a shared machine the load between
        # two runs moves times more than a fixed cost does; memory does not move so.
        seconds = rows[-1][0] * PROJECTED / sizes[-1]
        peak = linear(sizes, [row[1] for row in rows], PROJECTED)
        if rows[-1][2] > 1:  # a job per part or shard: more jobs, not bigger ones
            peak = max(row[1] for row in rows)
        print(f"{stage:18s}{cells}{seconds:11.0f} s {peak / 2**20:7.0f} MB")
    print(
        "(per size: wall time of all the rule's jobs one after another, the largest job's peak\n"
        " RSS, and the number of jobs; filter_labels runs per part, exports per shard, and\n"
        " their jobs stay the same size as items grow)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--tmp", help="folder for the synthetic dataset (default: system temp)")
    parser.add_argument(
        "--unsharded", action="store_true", help="each export in one job (no exports.shard_parts)"
    )
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--part", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        STAGES[args.stage](args.data, args.part)
        return
    measured = {}
    for items in args.items:
        print(f"{items:,} items:", flush=True)
        made, measured[items] = measure(items, args.unsharded, args.tmp)
    table(measured)


if __name__ == "__main__":
    main()
