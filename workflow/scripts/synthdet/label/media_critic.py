"""The media critic: is each made image, and each made video (through a few of its frames),
physically plausible, free of generation artefacts, and what its prompt asks for?

It reads a batch manifest and writes the same manifest with every asked item's verdict
(`critic`) and the items its rule rejects turned `rejected` (with the reason), which the
labeling jobs, like every later stage, skip as they skip blocked items.
"""

import logging
from pathlib import Path

from ..core import manifest
from ..core.records import read_manifest, write_manifest
from .critic import Question, file_digest, message_content, rejects

log = logging.getLogger("synthdet.media_critic")

DEFAULT_PROMPT = (
    "This {what} was made by a generative model for the prompt: {prompt!r}. Is it "
    "physically plausible (no impossible shapes, floating or merged objects, broken "
    "physics), free of generation artefacts (smears, garbled textures, extra limbs), and "
    "does it show what the prompt asks? Reject it if any of these fails."
)


def evenly_spaced(entries, count):
    """`count` entries spread over the list, first and last included."""
    if len(entries) <= count:
        return list(entries)
    if count == 1:
        return [entries[len(entries) // 2]]
    step = (len(entries) - 1) / (count - 1)
    return [entries[round(i * step)] for i in range(count)]


def media_files(item, stage, video_frames):
    """The JPEG files shown for an item: the image, or `video_frames` frames of a video."""
    if stage == "images":
        return [Path(item["path"])]
    chosen = evenly_spaced(item["frames"], video_frames)
    return [Path(item["frames_dir"]) / entry["file"] for entry in chosen]


def question_text(request, stage, prompt, count):
    what = "image" if stage == "images" else f"video (shown as {count} of its frames, in order)"
    return request["prompt"].format(what=what, prompt=prompt)


def media_question(item, stage, prompt, request):
    files = media_files(item, stage, request["video_frames"])
    text = question_text(request, stage, prompt, len(files))
    key = {
        "check": "media",
        "model": request["model"],
        "text": text,
        "images": [file_digest(path) for path in files],
    }
    return Question(key, lambda: message_content(text, [p.read_bytes() for p in files]))


def item_prompts(stage, item_list, video_manifest_path):
    """The prompt of each item: its own (images), its video's (frames)."""
    if stage == "images":
        return {item["id"]: item["prompt"] for item in item_list}
    videos = read_manifest(video_manifest_path)["items"]
    return {video["id"]: video.get("prompt", "") for video in videos}


def vetted(batch, stage, verdicts, rule):
    """The manifest with verdicts added and rejected items marked `rejected`."""
    items = []
    for item in batch["items"]:
        verdict = verdicts.get(item["id"])
        if verdict is None:
            items.append(item)
            continue
        item = {**item, "critic": verdict}
        if rejects(verdict, rule):
            why = verdict["reason"] or verdict["verdict"]
            item.update(status=manifest.REJECTED, reason=f"critic: {why}")
        items.append(item)
    counts = {status: 0 for status in manifest.STATUSES + (manifest.REJECTED,)}
    for item in items:
        counts[item["status"]] += 1
    return {**batch, "counts": counts, "items": items}


def critique_batch(manifest_path, out_path, stage, request, ask, video_manifest=None):
    """Ask about every made item of one batch manifest; write the vetted manifest.

    `ask(questions)` returns the verdicts in order (critic.ask_all with its endpoint).
    """
    batch = read_manifest(manifest_path, needs=("seed",))
    made = manifest.made_items(batch)
    prompts = item_prompts(stage, made, video_manifest)
    for item in made:
        if item["id"] not in prompts:
            raise ValueError(f"{video_manifest}: no video {item['id']!r} (frames of {out_path})")
    questions = [media_question(item, stage, prompts[item["id"]], request) for item in made]
    answers = ask(questions) if questions else []
    verdicts = {item["id"]: verdict for item, verdict in zip(made, answers)}
    result = vetted(batch, stage, verdicts, request["rule"])
    write_manifest(out_path, result)
    log.info(
        "%s seed %s: %d made, %d rejected, %d unparsed answers",
        stage,
        batch["seed"],
        len(made),
        result["counts"][manifest.REJECTED],
        sum(v["verdict"] == "unparsed" for v in answers),
    )
    return result
