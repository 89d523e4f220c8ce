"""The threshold tuning page: a sample of a dataset's candidates in one self-contained HTML file.

The page (tune_page.html + tune_page.js beside this module, inlined) re-runs the CPU filter of
`label_filter` in the browser, so thresholds can be tuned by eye without Snakemake. Its input
is the GPU stage's candidates, never the labels: every threshold is still open in the page.

A unit of the sample is an image, or one frame of a video. A frame's unit is its video's
candidates cut down to that frame, numbered from it (the frame is frame 0): every track keeps
its detections' scores and its windows (which windows are kept, and so the track's class and
score, depend on the whole video) and only that frame's mask, so `label_video` on the unit
gives exactly that frame's labels.
"""

import base64
import io
import json
from pathlib import Path


from ..core.atomic import write_text
from ..core.records import read_candidates, read_labels
from ..core.media import open_image
from ..export.naming import export_name, stable_image_id
from .evaluation import truth_by_name

PAGE_DIR = Path(__file__).parent
DISPLAY_WIDTH = 640  # embedded images are shrunk to this width; boxes stay in pixels


def image_unit(item, part):
    labeled = {"kind": "image", "seed": item["seed"], "id": item["id"]}
    return {
        "kind": "image",
        "part": part,
        "name": export_name(labeled),
        "image": item["image"],
        "width": item["width"],
        "height": item["height"],
        "candidates": item["candidates"],
    }


def frame_unit(video, index, part):
    frame = video["frames"][index]
    labeled = {"kind": "frame", "seed": video["seed"], "video": video["id"], "image": frame["file"]}
    tracks = [
        {
            "track": t["track"],
            "scores": t["scores"],
            "windows": [
                {**w, "first": w["first"] - index, "last": w["last"] - index} for w in t["windows"]
            ],
            "masks": {"0": t["masks"][str(index)]},
        }
        for t in video["tracks"]
        if str(index) in t["masks"]
    ]
    return {
        "kind": "frame",
        "part": part,
        "name": export_name(labeled),
        "image": f"{video['frames_dir']}/{frame['file']}",
        "width": video["width"],
        "height": video["height"],
        "frames": [frame],
        "max_missed": video["max_missed"],
        "tracks": tracks,
    }


def by_part(paths):
    """{kind: [".../part<K>.json", ...]} -> {K: {kind: path}}, as units_of takes them."""
    files = {}
    for kind, kind_paths in paths.items():
        for path in kind_paths:
            part = int(Path(path).name.removeprefix("part").removesuffix(".json"))
            files.setdefault(part, {})[kind] = str(path)
    return files


def part_units(part, inputs):
    """The images and video frames of one part's candidates files, with their classes."""
    units, classes = [], None
    if "images" in inputs:
        candidates = read_candidates(inputs["images"])
        classes = candidates["classes"]
        units += [image_unit(item, part) for item in candidates["items"]]
    if "frames" in inputs:
        candidates = read_candidates(inputs["frames"])
        classes = candidates["classes"]
        for video in candidates["items"]:
            units += [frame_unit(video, i, part) for i in range(len(video["frames"]))]
    return units, classes


def units_of(candidate_files):
    """Every image and video frame of the candidates files ({part: {kind: path}}), in order,
    with the class list."""
    units, classes = [], None
    for part, inputs in sorted(candidate_files.items()):
        found, part_classes = part_units(part, inputs)
        units += found
        classes = part_classes or classes
    return units, classes or []


def leading_class(unit, classes):
    """The class of a unit's best-scoring candidate or track (None when it has none)."""
    rows = [c["scores"] for c in unit.get("candidates", [])]
    rows += [row for t in unit.get("tracks", []) for row in t["scores"]]
    if not rows:
        return None
    best = max(rows, key=max)
    return classes[best.index(max(best))]


def round_robin(groups, count):
    """Indices of at most `count` units, `groups` giving each unit's group: round robin
    over the groups in sorted order, each group in its own order; returned in unit order."""
    queues = {}
    for index, group in enumerate(groups):
        queues.setdefault(group, []).append(index)
    ordered = [queues[key] for key in sorted(queues)]
    chosen, depth = [], 0
    while len(chosen) < count and any(depth < len(q) for q in ordered):
        chosen += [q[depth] for q in ordered if depth < len(q)]
        depth += 1
    return sorted(chosen[:count])


def sample_group(unit, classes):
    return unit["part"], str(leading_class(unit, classes))


def sample(units, classes, count):
    """At most `count` units spread over parts and leading classes: round robin over the
    (part, class) groups, each group in its own order, so every part and class shows up."""
    chosen = round_robin([sample_group(unit, classes) for unit in units], count)
    return [units[index] for index in chosen]


def sampled_units(candidate_files, count):
    """sample() of units_of(), holding one part's candidates at a time (a dataset's are
    many GB): the groups first, part by part, then the chosen units, part by part."""
    groups, classes = [], None
    for part, inputs in sorted(candidate_files.items()):
        units, part_classes = part_units(part, inputs)
        classes = part_classes or classes
        groups += [(sample_group(unit, classes), part, i) for i, unit in enumerate(units)]
        del units  # before the next part is read
    chosen = [groups[index][1:] for index in round_robin([g[0] for g in groups], count)]
    picked = []
    for part, inputs in sorted(candidate_files.items()):
        wanted = [index for chosen_part, index in chosen if chosen_part == part]
        if wanted:
            units = part_units(part, inputs)[0]
            picked += [units[index] for index in wanted]
            del units
    return picked, len(groups), classes or []


def image_data_uri(path, width=DISPLAY_WIDTH):
    with open_image(path) as image:
        image = image.convert("RGB")
        if image.width > width:
            image = image.resize((width, round(image.height * width / image.width)))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def verdicts_by_name(validated_paths):
    """Export name -> the label validator's verdicts of its labels, dropped ones included:
    [{"class", "box", "verdict", "reason", "rejected"}]. The page matches them to the
    labels it computes by class and box; a label it shows that was never asked has none."""
    verdicts = {}
    for path in validated_paths:
        for item in read_labels(path)["items"]:
            found = [
                {"class": o["class"], "box": o["box"], **o["validator"]}
                for o in item["objects"] + item.get("dropped", [])
                if "validator" in o
            ]
            if found:
                verdicts.setdefault(export_name(item), []).extend(found)
    return verdicts


def page_data(dataset, units, classes, thresholds, truth=None, candidate_floor=0.0, verdicts=None):
    """Everything the page needs, as one JSON-able dict. `truth` (export name -> objects) is
    given for procedural datasets only. Thresholds under `candidate_floor` are refused by
    the config check (the GPU stage kept nothing under it), so the page refuses them too."""
    items = []
    for unit in units:
        item = {k: v for k, v in unit.items() if k != "image"}
        item["src"] = image_data_uri(unit["image"])
        item["image_id"] = stable_image_id(unit["name"])  # as evaluation.mean_ap numbers it
        if truth is not None:
            item["truth"] = truth.get(unit["name"])
        if verdicts is not None:
            item["verdicts"] = verdicts.get(unit["name"], [])
        items.append(item)
    return {
        "dataset": dataset,
        "classes": classes,
        "thresholds": thresholds,
        "candidate_floor": candidate_floor,
        "items": items,
    }


def render(data):
    """The page: template with its script and data inlined (no network, opens from disk)."""
    template = (PAGE_DIR / "tune_page.html").read_text(encoding="utf-8")
    script = (PAGE_DIR / "tune_page.js").read_text(encoding="utf-8")
    return template.replace("/*TUNE_SCRIPT*/", script).replace(
        "/*TUNE_DATA*/null", script_json(data)
    )


# Characters a JSON string may hold raw that the HTML parser reads otherwise inside a
# <script> element: "<" and ">" make "</script>" and "<!--" (whose double-escaped script
# state swallows the page's own <script>), "&" for good measure, and U+2028 and U+2029,
# which end a line in older JavaScript. They occur only inside JSON strings.
SCRIPT_ESCAPES = {char: f"\\u{ord(char):04x}" for char in "<>&\u2028\u2029"}


def script_json(data):
    """`data` as JSON that can sit inside a <script> element whatever its strings hold."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.translate(str.maketrans(SCRIPT_ESCAPES))


def write_page(
    out_path,
    dataset,
    candidate_files,
    thresholds,
    count,
    manifests=None,
    candidate_floor=0.0,
    validated=None,
):
    """The tuning page of a dataset. `manifests` ({"images": [...], "frames": [...]}) gives
    ground truth for procedural datasets; None for datasets without it. `validated` (the
    label validator's files) gives the verdicts, for datasets with one."""
    chosen, unit_count, classes = sampled_units(candidate_files, count)
    truth = None
    if manifests is not None:
        truth = truth_by_name(manifests.get("images", []), manifests.get("frames", []))
    verdicts = None if validated is None else verdicts_by_name(validated)
    data = page_data(dataset, chosen, classes, thresholds, truth, candidate_floor, verdicts)
    write_text(out_path, render(data))
    return {"units": unit_count, "sampled": len(chosen), "classes": classes}
