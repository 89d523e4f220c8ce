"""QA overlays: images with their masks, boxes, class names and scores drawn, and a
contact sheet of them per labeling part."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..core import rle
from ..core.atomic import replaced, staged_dir
from ..core.records import read_labels
from ..core.media import open_image
from ..core.palette import PALETTE
from ..export.naming import export_name

THUMBNAIL = 256


def class_colour(label, classes):
    return PALETTE[classes.index(label) % len(PALETTE)] if label in classes else (255, 255, 255)


def font():
    try:
        return ImageFont.load_default(size=12)  # a scalable font: any text draws
    except TypeError:
        return ImageFont.load_default()


def caption(obj):
    return f"{obj['class']} {obj['score']:.2f}" + (f" #{obj['track']}" if "track" in obj else "")


def draw_text(draw, position, text, colour, face):
    try:
        draw.text(position, text, fill=colour, font=face)
    except UnicodeEncodeError:  # a bitmap font without the glyphs: draw what it can
        draw.text(position, text.encode("ascii", "replace").decode(), fill=colour, font=face)


def overlay(item, classes, colour_of=None):
    """The item's image with every object's mask (tinted), box and caption, each in the
    colour of its class (or of `colour_of(obj)`)."""
    colour_of = colour_of or (lambda obj: class_colour(obj["class"], classes))
    with open_image(item["image"]) as source:
        pixels = np.asarray(source.convert("RGB"), dtype=np.float32)
    for obj in item["objects"]:
        mask = rle.decode(obj["mask"])
        colour = np.array(colour_of(obj), dtype=np.float32)
        pixels[mask] = pixels[mask] * 0.55 + colour * 0.45
    image = Image.fromarray(pixels.astype(np.uint8))
    draw, face = ImageDraw.Draw(image), font()
    for obj in item["objects"]:
        colour = colour_of(obj)
        x1, y1, x2, y2 = obj["box"]
        draw.rectangle([x1, y1, max(x1, x2 - 1), max(y1, y2 - 1)], outline=colour, width=2)
        draw_text(draw, (x1 + 2, max(0, y1 - 14)), caption(obj), colour, face)
    return image


def sample(items, count):
    """`count` items spread evenly over the part (all of them when count is None)."""
    if count is None or len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def contact_sheet(images, columns=4):
    thumbs = []
    for image in images:
        thumb = image.copy()
        thumb.thumbnail((THUMBNAIL, THUMBNAIL))
        thumbs.append(thumb)
    cell = max((t.height for t in thumbs), default=THUMBNAIL)
    rows = max(1, -(-len(thumbs) // columns))
    sheet = Image.new("RGB", (columns * THUMBNAIL, rows * cell), (32, 32, 32))
    for index, thumb in enumerate(thumbs):
        sheet.paste(thumb, ((index % columns) * THUMBNAIL, (index // columns) * cell))
    return sheet


def overlays(labels_path, out_dir, sheet_path, count):
    labels = read_labels(labels_path)
    chosen = sample(sorted(labels["items"], key=export_name), count)
    drawn = []
    with staged_dir(out_dir) as stage:
        for item in chosen:
            image = overlay(item, labels["classes"])
            image.save(stage / export_name(item), quality=90)
            drawn.append(image)
    with replaced(sheet_path) as temporary:
        contact_sheet(drawn).save(temporary, quality=90)
    return len(drawn)
