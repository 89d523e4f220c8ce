"""The label validator: each label kept by filter_labels is shown to a vision-language model
as a crop of its image with some context around the box, the box outlined in red, and the
model is asked whether it is a <class>.

Images: one question per object. Videos: one question per track (on its middle frame;
every frame of the track takes that verdict), since a track is one object.
`labeling.thresholds.validator` decides what rejected labels become: `off` keeps them (the
verdicts are recorded all the same), `drop` removes them, `keep-and-flag` keeps them
with `"flagged": true`.
"""

import io
import logging

from PIL import Image, ImageDraw

from ..core.records import read_labels, write_labels
from .critic import REJECT, UNPARSED, Question, file_digest, message_content, rejects

log = logging.getLogger("synthdet.label_validator")

DEFAULT_PROMPT = (
    "The image is a crop of a synthetic training image; the red rectangle marks an object "
    "that an automatic labeler called {class_name!r}. Is the object inside the red "
    "rectangle a {class_name}, and does the rectangle fit it? Accept or reject."
)
OFF, DROP, FLAG = "off", "drop", "keep-and-flag"
OUTLINE = (255, 0, 0)


def crop_box(box, width, height, context):
    """The crop around `box`: the box grown by `context` times its size on each side (at
    least 8 pixels), inside the image, in whole pixels."""
    x1, y1, x2, y2 = box
    grow_x = max(8.0, (x2 - x1) * context)
    grow_y = max(8.0, (y2 - y1) * context)
    left, top = max(0, int(x1 - grow_x)), max(0, int(y1 - grow_y))
    right, bottom = min(width, int(round(x2 + grow_x))), min(height, int(round(y2 + grow_y)))
    return left, top, max(right, left + 1), max(bottom, top + 1)


def crop_jpeg(image_path, box, context):
    """The JPEG shown for a label: the crop with context, the box outlined in red."""
    with Image.open(image_path) as image:
        image = image.convert("RGB")
        left, top, right, bottom = crop_box(box, image.width, image.height, context)
        crop = image.crop((left, top, right, bottom))
    x1, y1, x2, y2 = box
    ImageDraw.Draw(crop).rectangle(
        (x1 - left, y1 - top, x2 - left - 1, y2 - top - 1), outline=OUTLINE, width=2
    )
    buffer = io.BytesIO()
    crop.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def label_question(image_path, box, class_name, request, digests):
    """`digests` caches file hashes: a video's frames are read once per job."""
    if image_path not in digests:
        digests[image_path] = file_digest(image_path)
    text = request["prompt"].format(class_name=class_name)
    key = {
        "check": "label",
        "model": request["model"],
        "text": text,
        "image": digests[image_path],
        "box": [round(float(v), 2) for v in box],
        "class": class_name,
        "context": request["context"],
    }
    return Question(
        key, lambda: message_content(text, [crop_jpeg(image_path, box, request["context"])])
    )


def label_groups(items):
    """[(the (item, object) indices a verdict applies to, the one that is shown)]: each
    image object alone; each video track together, shown on its middle frame."""
    groups, tracks = [], {}
    for i, item in enumerate(items):
        for j, obj in enumerate(item["objects"]):
            if item.get("kind") == "frame" and "track" in obj:
                tracks.setdefault((item.get("video"), obj["track"]), []).append((i, j))
            else:
                groups.append(([(i, j)], (i, j)))
    for members in tracks.values():
        members.sort(key=lambda ij: items[ij[0]].get("source_index", 0))
        groups.append((members, members[len(members) // 2]))
    return groups


def apply_verdicts(items, groups, verdicts, mode, rule):
    """Items with each object's verdict (`validator`, with `rejected` under `rule`), under
    `mode`; and the counts. Dropped objects move to the item's `dropped` list (without
    their masks), where the tuning page still finds their verdicts."""
    items = [{**item, "objects": [dict(o) for o in item["objects"]]} for item in items]
    counts = {"asked": len(groups), "accept": 0, REJECT: 0, UNPARSED: 0, "dropped": 0}
    counts["flagged"] = 0
    for (members, _), verdict in zip(groups, verdicts):
        counts[verdict["verdict"]] += 1
        rejected = rejects(verdict, rule)
        for i, j in members:
            obj = items[i]["objects"][j]
            obj["validator"] = {**verdict, "rejected": rejected}
            if rejected and mode == DROP:
                obj["drop"] = True
                counts["dropped"] += 1
            elif rejected and mode == FLAG:
                obj["flagged"] = True
                counts["flagged"] += 1
    for item in items:
        dropped = [o for o in item["objects"] if o.get("drop")]
        if dropped:
            item["dropped"] = [
                {k: v for k, v in o.items() if k not in ("drop", "mask")} for o in dropped
            ]
        item["objects"] = [o for o in item["objects"] if not o.get("drop")]
    return items, counts


def validate_part(labels_path, out_path, request, ask):
    """Ask about every label of a labels file; write it with the verdicts applied.

    `ask(questions)` returns the verdicts in order (critic.ask_all with its endpoint).
    """
    labels = read_labels(labels_path)
    items = labels["items"]
    groups, digests = label_groups(items), {}
    questions = []
    for _, (i, j) in groups:
        obj = items[i]["objects"][j]
        questions.append(
            label_question(items[i]["image"], obj["box"], obj["class"], request, digests)
        )
    verdicts = ask(questions) if questions else []
    items, counts = apply_verdicts(items, groups, verdicts, request["mode"], request["rule"])
    result = {
        **labels,
        "items": items,
        "objects": sum(len(item["objects"]) for item in items),
        "validator": {"mode": request["mode"], "model": request["model"], **counts},
    }
    write_labels(out_path, result)
    log.info("labels validated: %s", counts)
    return result
