"""The procedural generator: a CPU stand-in for Cosmos-Predict2.

It is NOT a generative model. It renders simple deterministic scenes from
(prompt id, seed): a gradient backdrop with a conveyor band and one flat shape per
object, each class with its own shape and colour. Because it draws the objects, it
knows their exact boxes: every image and video frame comes with ground truth, so the
whole workflow can run, and be scored, on a CPU.

Objects move horizontally in their own lanes and bounce at the borders, so boxes never
overlap and a box is always the full extent of what is drawn.
Boxes are pixel [x1, y1, x2, y2] with x2/y2 exclusive (the object covers x1..x2-1).
"""

import hashlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ..core.palette import PALETTE

SHAPES = ("box", "ellipse", "triangle", "diamond")
ASPECT_RATIOS = {"1:1": (1, 1), "4:3": (4, 3), "3:4": (3, 4), "16:9": (16, 9), "9:16": (9, 16)}


@dataclass(frozen=True)
class Thing:
    label: str
    shape: str
    colour: tuple
    x: float  # left edge at frame 0
    y: int  # top edge (constant: objects move along their lane)
    width: int
    height: int
    speed: float  # pixels per frame, signed


@dataclass(frozen=True)
class Scene:
    width: int
    height: int
    top: tuple
    bottom: tuple
    things: tuple


def image_size(width, aspect_ratio):
    """Height for `width` at a Cosmos aspect ratio, rounded to a multiple of 16."""
    across, down = ASPECT_RATIOS[aspect_ratio]
    return width, max(16, round(width * down / across / 16) * 16)


def scene_rng(prompt_id, seed):
    digest = hashlib.sha256(f"{prompt_id}/{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def classes_in_prompt(prompt, classes):
    """Classes the prompt mentions by name or phrase; all classes when it names none."""
    text = prompt.lower()
    named = [
        name
        for name, phrases in classes.items()
        if any(word.lower() in text for word in [name, *phrases])
    ]
    return named or list(classes)


def style(label, classes):
    index = list(classes).index(label)
    return SHAPES[index % len(SHAPES)], PALETTE[index % len(PALETTE)]


def compose_scene(prompt_id, seed, prompt, classes, width, height):
    rng = scene_rng(prompt_id, seed)
    present = classes_in_prompt(prompt, classes)
    count = int(rng.integers(1, 5))
    lane_height = height / count
    things = []
    for lane in range(count):
        label = present[int(rng.integers(len(present)))]
        shape, colour = style(label, classes)
        thing_height = max(8, int(lane_height * rng.uniform(0.55, 0.9)))
        thing_width = max(8, min(width // 2, int(thing_height * rng.uniform(0.6, 1.6))))
        top = int(lane * lane_height + (lane_height - thing_height) / 2)
        left = float(rng.uniform(0, width - thing_width))
        speed = float(rng.uniform(0.01, 0.04) * width * rng.choice([-1, 1]))
        things.append(Thing(label, shape, colour, left, top, thing_width, thing_height, speed))
    top_colour = tuple(int(v) for v in rng.integers(60, 200, 3))
    bottom_colour = tuple(int(v) for v in rng.integers(20, 120, 3))
    return Scene(width, height, top_colour, bottom_colour, tuple(things))


def left_edge(thing, scene_width, frame):
    """Left edge at `frame`: moving at constant speed, reflected at both borders."""
    travel = scene_width - thing.width
    if travel <= 0:
        return 0
    position = (thing.x + thing.speed * frame) % (2 * travel)
    return int(round(position if position <= travel else 2 * travel - position))


def boxes(scene, frame=0):
    result = []
    for track, thing in enumerate(scene.things):
        x1 = left_edge(thing, scene.width, frame)
        box = [x1, thing.y, x1 + thing.width, thing.y + thing.height]
        result.append({"class": thing.label, "box": box, "track": track})
    return result


def backdrop(scene):
    rows = np.linspace(0.0, 1.0, scene.height)[:, None]
    gradient = (1 - rows) * np.array(scene.top) + rows * np.array(scene.bottom)
    image = np.repeat(gradient[:, None, :], scene.width, axis=1)
    band = slice(int(scene.height * 0.45), int(scene.height * 0.55))
    image[band] = image[band] * 0.6  # a darker conveyor band across the middle
    return image.astype(np.uint8)


def draw_thing(draw, shape, colour, box):
    x1, y1, x2, y2 = box[0], box[1], box[2] - 1, box[3] - 1
    if shape == "box":
        draw.rectangle([x1, y1, x2, y2], fill=colour)
    elif shape == "ellipse":
        draw.ellipse([x1, y1, x2, y2], fill=colour)
    elif shape == "triangle":
        draw.polygon([(x1, y2), (x2, y2), ((x1 + x2) / 2, y1)], fill=colour)
    else:
        middle_x, middle_y = (x1 + x2) / 2, (y1 + y2) / 2
        points = [(middle_x, y1), (x2, middle_y), (middle_x, y2), (x1, middle_y)]
        draw.polygon(points, fill=colour)


def render(scene, frame=0, background=None):
    """The RGB image of `scene` at `frame`, and its ground-truth boxes."""
    image = Image.fromarray(backdrop(scene) if background is None else background)
    draw = ImageDraw.Draw(image)
    truth = boxes(scene, frame)
    for thing, item in zip(scene.things, truth):
        draw_thing(draw, thing.shape, thing.colour, item["box"])
    return image, truth
