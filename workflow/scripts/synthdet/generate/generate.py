"""Generation stages: one seed batch in, a folder of media plus a manifest out.

The backend writes into a staging folder; each expected file is then checked and
classified (made / blocked / failed), the folder is renamed into place and the
manifest is written last, so a killed job leaves nothing a later stage would trust.
"""

from pathlib import Path

import numpy as np

from ..core import manifest, media
from ..core.atomic import read_json, staged_dir, write_json, write_text
from ..core.records import read_manifest, write_manifest
from . import cosmos, predict2_5, procedural

NO_FILE = "the generator wrote no file (Cosmos's guardrail skips blocked prompts; see the log)"


def item_id(path):
    return Path(path).stem


def sidecar_text(prompt, negative_prompt=""):
    """The prompt sidecar Cosmos writes beside each output, mirrored by the stand-in."""
    text = f"[Prompt]\n{prompt}\n"
    return text + (f"[Negative Prompt]\n{negative_prompt}\n" if negative_prompt else "")


def classify(pid, prompt, final_path, staged_path, problem_of, known=None):
    """`known`: {id: (status, reason)} the backend knows for items it did not make."""
    problem = problem_of(staged_path)
    entry = {"id": pid, "prompt": prompt, "path": str(final_path)}
    if problem == "missing" and known and pid in known:
        status, reason = known[pid]
        return {**entry, "status": status, "reason": reason}
    if problem == "missing":
        return {**entry, "status": manifest.BLOCKED, "reason": NO_FILE}
    if problem:
        return {**entry, "status": manifest.FAILED, "reason": problem}
    return {**entry, "status": manifest.MADE}


def batch_job(generation, dataset, seed, num_gpus, site):
    """Everything a generation stage needs about its batch: the rule's `generation`
    params, plus what is deliberately not a param. How many GPUs run a video job changes
    how, not what, Cosmos makes; and the site settings (`cosmos:`, how Cosmos is
    launched) must not regenerate anything when a checkout or container moves."""
    return {
        **generation,
        "settings": {**generation["settings"], "num_gpus": num_gpus},
        "dataset": dataset,
        "seed": seed,
        "cosmos": site,
    }


def text2image(batch_path, image_dir, manifest_path, job, log_path):
    """Make the images of one seed batch. `job` holds dataset, seed, generator,
    settings (text2image), negative_prompt, classes, procedural, cosmos (site)."""
    items = read_json(batch_path)
    with staged_dir(image_dir) as stage:
        staged = {item_id(i["output_image"]): stage / Path(i["output_image"]).name for i in items}
        truth, known = {}, {}
        if job["generator"] == "procedural":
            truth = procedural_images(items, staged, job)
        elif is_predict2_5(job):
            known = predict2_5.make_images(
                by_id(items, "output_image"), staged, stage, job, log_path
            )
        else:
            cosmos_images(items, staged, stage, job, log_path)
        entries = []
        for item in items:
            pid = item_id(item["output_image"])
            entry = classify(
                pid, item["prompt"], item["output_image"], staged[pid], media.image_problem, known
            )
            if entry["status"] == manifest.MADE:
                entry["width"], entry["height"] = media.image_size(staged[pid])
                if pid in truth:
                    entry["ground_truth"] = truth[pid]
            entries.append(entry)
    result = manifest.build("text2image", job["dataset"], job["seed"], job["generator"], entries)
    write_manifest(manifest_path, result)
    return result


def is_predict2_5(job):
    return job.get("release") == "predict2.5"


def by_id(items, output_key):
    return {item_id(item[output_key]): item for item in items}


def procedural_images(items, staged, job):
    width, height = procedural.image_size(
        job["procedural"]["width"], job["settings"]["aspect_ratio"]
    )
    truth = {}
    for item in items:
        pid = item_id(item["output_image"])
        scene = procedural.compose_scene(
            pid, job["seed"], item["prompt"], job["classes"], width, height
        )
        image, truth[pid] = procedural.render(scene)
        image.save(staged[pid], format="JPEG", quality=95)
        write_text(
            staged[pid].with_suffix(".txt"), sidecar_text(item["prompt"], job["negative_prompt"])
        )
    return truth


def cosmos_images(items, staged, stage, job, log_path):
    launch = [
        {"prompt": i["prompt"], "output_image": str(staged[item_id(i["output_image"])].resolve())}
        for i in items
    ]
    batch_file = stage / "cosmos_batch.json"
    write_json(batch_file, launch)
    command = cosmos.text2image_command(
        job["cosmos"],
        job["settings"],
        batch_file.resolve(),
        job["seed"],
        job["negative_prompt"],
        (stage / "cosmos_text2image.jpg").resolve(),
    )
    cosmos.run(command, job["cosmos"], gpus=1, log_path=log_path)


def video2world(batch_path, image_manifest_path, video_dir, manifest_path, job, log_path):
    """Make the videos of one seed batch. `job` as for text2image, with settings
    (video2world) and aspect_ratio (of the images)."""
    items = read_json(batch_path)
    images = {entry["id"]: entry for entry in read_manifest(image_manifest_path)["items"]}
    fps = predict2_5.VIDEO_FPS if is_predict2_5(job) else job["settings"]["fps"]
    with staged_dir(video_dir) as stage:
        staged = {item_id(i["output_video"]): stage / Path(i["output_video"]).name for i in items}
        truth, known = {}, {}
        if job["generator"] == "procedural":
            truth = procedural_videos(items, staged, images, job)
            expected_frames = job["procedural"]["video_frames"]
        elif not items:  # every image of the seed blocked: no GPU job for an empty batch
            expected_frames = None
        elif is_predict2_5(job):
            known = predict2_5.make_videos(by_id(items, "output_video"), stage, job, log_path)
            expected_frames = None  # counted per video: the model, not the file, decides
        else:
            cosmos_videos(items, staged, stage, job, log_path)
            expected_frames = cosmos.frames_per_video(fps)
        entries = []
        for item in items:
            pid = item_id(item["output_video"])
            entry = classify(
                pid, item["prompt"], item["output_video"], staged[pid], media.video_problem, known
            )
            entry["input_image"] = item["input_video"]
            if entry["status"] == manifest.MADE:
                entry["fps"] = fps
                entry["frames_expected"] = expected_frames or video_frames(staged[pid], job)
                if pid in truth:
                    entry["ground_truth_frames"] = truth[pid]
            entries.append(entry)
    result = manifest.build("video2world", job["dataset"], job["seed"], job["generator"], entries)
    write_manifest(manifest_path, result)
    return result


def video_frames(video, job):
    """A Predict2.5 video's frame count; the params file's when ffmpeg cannot count it."""
    return predict2_5.frame_count(video) or job["settings"]["num_output_frames"]


def procedural_videos(items, staged, images, job):
    """Animate each input image's scene: frame 0 is the image, objects then move."""
    truth = {}
    for item in items:
        pid = item_id(item["output_video"])
        image = images[pid]
        if media.image_problem(item["input_video"]):
            continue  # Cosmos skips an unreadable input too: the item is recorded as blocked
        width, height = image["width"], image["height"]
        scene = procedural.compose_scene(
            pid, job["seed"], image["prompt"], job["classes"], width, height
        )
        frames, truth[pid] = [], []
        for index in range(job["procedural"]["video_frames"]):
            picture, boxes = procedural.render(scene, index)
            frames.append(np.asarray(picture))
            truth[pid].append(boxes)
        media.encode_video(frames, staged[pid], job["settings"]["fps"], width, height)
        write_text(staged[pid].with_suffix(".txt"), sidecar_text(item["prompt"]))
    return truth


def cosmos_videos(items, staged, stage, job, log_path):
    launch = [
        {
            "input_video": str(Path(i["input_video"]).resolve()),
            "prompt": i["prompt"],
            "output_video": str(staged[item_id(i["output_video"])].resolve()),
        }
        for i in items
    ]
    batch_file = stage / "cosmos_batch.json"
    write_json(batch_file, launch)
    command = cosmos.video2world_command(
        job["cosmos"],
        job["settings"],
        job["aspect_ratio"],
        batch_file.resolve(),
        job["seed"],
        job["negative_prompt"],
        (stage / "cosmos_video2world.mp4").resolve(),
    )
    cosmos.run(command, job["cosmos"], gpus=job["settings"]["num_gpus"], log_path=log_path)
