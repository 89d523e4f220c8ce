"""Per-seed batch files in Cosmos-Predict2's --batch_input_json formats.

text2image items are {"prompt", "output_image"}; video2world items are
{"input_video", "prompt", "output_video"}. Output paths are
results/{dataset}/{images,videos}/seed{seed}/{prompt_id}.{jpg,mp4}: unique across
seeds and datasets, and stable when prompts are added.
"""

from ..core import manifest


def text2image_items(prompts, image_dir):
    return [{"prompt": p["prompt"], "output_image": f"{image_dir}/{p['id']}.jpg"} for p in prompts]


def video2world_items(prompts, image_manifest, video_dir, prompts_per_seed):
    """Items for the first `prompts_per_seed` prompts (all when None) whose image was made."""
    made = {entry["id"]: entry["path"] for entry in manifest.made_items(image_manifest)}
    items = [
        {
            "input_video": made[p["id"]],
            "prompt": p["video_prompt"],
            "output_video": f"{video_dir}/{p['id']}.mp4",
        }
        for p in prompts
        if p["id"] in made
    ]
    return items if prompts_per_seed is None else items[:prompts_per_seed]
