"""Pascal VOC in its standard layout, and the same boxes in Edge Impulse's folders as its
uploader reads them; each split into train and test by seed batch (`split.py`)."""

import copy
import functools
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from xml.sax.saxutils import escape

from ..core.atomic import staged_dir, write_text
from ..core.media import open_image
from ..core.names import excerpt
from .naming import export_name, exported_items, link_or_copy, warn_if_crowded
from .split import TEST, TRAIN, split_items

# Edge Impulse's uploader takes the split from these folder names.
EDGE_IMPULSE_FOLDERS = {TRAIN: "training", TEST: "testing"}


def pixel_edge(value):
    """A float box edge to the nearest pixel edge, halves up: the one rounding rule of
    every integer box. The same rule on both edges keeps a box of whole width that wide
    wherever it sits (Python's round() sends halves to even: a 1.0-wide box at x=0.5
    became 2 px, at x=1.5 1 px)."""
    return math.floor(value + 0.5)


def pixel_span(low, high, size):
    """Float edges [low, high) -> integer [start, end) inside 0..size, at least 1 pixel."""
    start = min(max(pixel_edge(low), 0), size - 1)
    end = min(max(pixel_edge(high), start + 1), size)
    return start, end


def pixel_box(box, width, height):
    """Pixel box [x1, y1, x2, y2) -> integers (xmin, ymin, xmax, ymax), 0-based with
    exclusive max: the labeled pixels are xmin..xmax-1. Never empty."""
    xmin, xmax = pixel_span(box[0], box[2], width)
    ymin, ymax = pixel_span(box[1], box[3], height)
    return xmin, ymin, xmax, ymax


def voc_box(box, width, height):
    """The same pixels in VOC's 1-based inclusive convention: 0-based pixels 0..9 are
    xmin=1, xmax=10 (torchvision, Datumaro and VOC's own tools read it so)."""
    xmin, ymin, xmax, ymax = pixel_box(box, width, height)
    return xmin + 1, ymin + 1, xmax, ymax


@functools.cache
def blank_writer():
    """One pascal-voc-writer Writer whose compiled template every annotation shares: its
    constructor compiles the Jinja template anew (7 ms, more than the rest of an item)."""
    from pascal_voc_writer import Writer

    return Writer("blank.jpg", 1, 1)


def voc_xml(name, folder, width, height, depth, objects, to_integers):
    """The annotation XML, written through pascal-voc-writer's template. `path` is the
    image's path inside the export folder, never where the checkout lives.

    The writer does not escape: every text that reaches the template is escaped here.
    """
    writer = copy.copy(blank_writer())
    writer.template_parameters = dict(
        writer.template_parameters,
        path=escape(f"{folder}/{name}"),
        filename=escape(name),
        folder=escape(folder),
        width=width,
        height=height,
        depth=depth,
        objects=[],
    )
    for obj in objects:
        writer.addObject(escape(obj["class"]), *to_integers(obj["box"], width, height))
    xml = writer.annotation_template.render(**writer.template_parameters)
    return parsed_back(xml, name, [obj["class"] for obj in objects])


def parsed_back(xml, name, classes):
    """`xml` when an XML parser reads it back with the image's name and every class name
    as written; else a ValueError naming the file. Edge Impulse's uploader skips an XML it
    cannot parse and uploads the image with no boxes, so a bad one must stop the export."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as error:
        raise ValueError(f"the annotation XML of {name} is not well-formed: {error}") from None
    read = [obj.findtext("name") for obj in root.iter("object")]
    if root.findtext("filename") != name or read != classes:
        raise ValueError(
            f"the annotation XML of {name} reads back as {excerpt(str(read))}, "
            f"not {excerpt(str(classes))}"
        )
    return xml


def image_depth(path):
    with open_image(path) as image:
        return len(image.getbands())


def voc_counts(sides):
    counts = {side: len(items) for side, items in sides.items()}
    counts["objects"] = sum(len(item["objects"]) for items in sides.values() for item in items)
    return counts


def voc_colour(index):
    """Pascal VOC's palette colour of label `index` (0 is background's black), as VOC's
    devkit and Datumaro build it: the index's bits spread over the high bits of r, g, b."""
    colour = [0, 0, 0]
    for shift in range(7, -1, -1):
        for channel in range(3):
            colour[channel] |= ((index >> channel) & 1) << shift
        index >>= 3
    return colour


def voc_labelmap(classes):
    """labelmap.txt as Datumaro and CVAT read it (`name:r,g,b:parts:actions`), so they take
    the ontology's classes instead of VOC's 20. Background first, as their VOC exports write
    it. A name that would break a line (':', a leading '#', outer spaces) is refused."""
    names = classes if "background" in classes else ["background", *classes]
    lines = ["# label:color_rgb:parts:actions\n"]
    for index, name in enumerate(names):
        if ":" in name or name.startswith("#") or name != name.strip():
            raise ValueError(
                f"class {name!r} cannot be written to voc/labelmap.txt: Datumaro and CVAT read "
                "':' as its field separator, a leading '#' as a comment, and strip spaces"
            )
        lines.append(f"{name}:{','.join(map(str, voc_colour(index)))}::\n")
    return "".join(lines)


def export_voc(label_paths, out_dir, empty_images, split_settings):
    """Standard Pascal VOC: JPEGImages/, Annotations/ and ImageSets/Main/{train,test}.txt,
    boxes 1-based inclusive, and labelmap.txt with the classes."""
    items, classes = exported_items(label_paths, empty_images)
    sides = split_items(items, split_settings)
    labelmap = voc_labelmap(classes)
    warn_if_crowded(f"{out_dir}/JPEGImages", len(items))
    with staged_dir(out_dir) as stage:
        write_text(stage / "labelmap.txt", labelmap)
        for folder in ("JPEGImages", "Annotations", "ImageSets/Main"):
            (stage / folder).mkdir(parents=True)
        for side, side_items in sides.items():
            stems = [Path(export_name(item)).stem for item in side_items]
            write_text(stage / "ImageSets/Main" / f"{side}.txt", "".join(f"{s}\n" for s in stems))
            for item in side_items:
                name = export_name(item)
                link_or_copy(item["image"], stage / "JPEGImages" / name)
                xml = voc_xml(
                    name,
                    "JPEGImages",
                    item["width"],
                    item["height"],
                    image_depth(item["image"]),
                    item["objects"],
                    voc_box,
                )
                write_text((stage / "Annotations" / name).with_suffix(".xml"), xml)
    return voc_counts(sides)


def export_edge_impulse(label_paths, out_dir, empty_images, split_settings):
    """training/ and testing/, each with images and same-named XML whose boxes are 0-based
    with exclusive max, so that the uploader's `x = xmin, width = xmax - xmin` gives
    exactly the labeled pixels."""
    items, _ = exported_items(label_paths, empty_images)
    sides = split_items(items, split_settings)
    with staged_dir(out_dir) as stage:
        for side, side_items in sides.items():
            folder = EDGE_IMPULSE_FOLDERS[side]
            warn_if_crowded(f"{out_dir}/{folder}", 2 * len(side_items))  # image and XML
            (stage / folder).mkdir()
            for item in side_items:
                name = export_name(item)
                link_or_copy(item["image"], stage / folder / name)
                xml = voc_xml(
                    name,
                    folder,
                    item["width"],
                    item["height"],
                    image_depth(item["image"]),
                    item["objects"],
                    pixel_box,
                )
                write_text((stage / folder / name).with_suffix(".xml"), xml)
    return voc_counts(sides)
