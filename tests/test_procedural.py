import numpy as np

from synthdet.generate import procedural

CLASSES = {"can": ["soda can"], "person": ["worker"], "forklift": ["forklift"]}


def scene(prompt="two soda cans, a worker and a forklift", seed=0):
    return procedural.compose_scene("pabc", seed, prompt, CLASSES, 320, 176)


def test_same_prompt_id_and_seed_give_the_same_image():
    first, truth = procedural.render(scene())
    again, truth_again = procedural.render(scene())
    assert np.array_equal(np.asarray(first), np.asarray(again)) and truth == truth_again
    other, _ = procedural.render(scene(seed=1))
    assert not np.array_equal(np.asarray(first), np.asarray(other))


def assert_box_is_tight(pixels, colour, box, where):
    """The shape of `colour` reaches all four edges of `box` and the ring of pixels just
    outside it holds none of that colour: a box one pixel too big or too small fails."""
    x1, y1, x2, y2 = box
    shape = np.all(pixels == colour, axis=-1)
    inside = shape[y1:y2, x1:x2]
    edges = {"top": inside[0], "bottom": inside[-1], "left": inside[:, 0], "right": inside[:, -1]}
    for edge, line in edges.items():
        assert line.any(), f"{where}: box {box} is too big: its {edge} edge misses the shape"
    ring = np.pad(shape, 1)[y1 : y2 + 2, x1 : x2 + 2].copy()  # box plus one pixel around
    ring[1:-1, 1:-1] = False
    assert not ring.any(), f"{where}: box {box} is too small: the shape reaches outside"


def test_ground_truth_boxes_cover_exactly_the_drawn_objects():
    classes = {**CLASSES, "pallet": ["pallet"]}  # a fourth class: every shape gets drawn
    prompt = "two soda cans, a worker, a forklift and a pallet"
    shapes = set()
    for seed in range(20):
        drawing = procedural.compose_scene("pabc", seed, prompt, classes, 320, 176)
        image, truth = procedural.render(drawing)
        pixels = np.asarray(image)
        height, width = pixels.shape[:2]
        drawn = np.any(pixels != procedural.backdrop(drawing), axis=-1)
        in_a_box = np.zeros_like(drawn)
        for thing, item in zip(drawing.things, truth):
            shapes.add(thing.shape)
            x1, y1, x2, y2 = item["box"]
            assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
            assert (x2 - x1, y1, y2 - y1) == (thing.width, thing.y, thing.height), (seed, item)
            assert_box_is_tight(pixels, thing.colour, item["box"], f"seed {seed} {thing.shape}")
            in_a_box[y1:y2, x1:x2] = True
        # nothing is drawn outside the boxes, whatever its colour
        assert not (drawn & ~in_a_box).any(), f"seed {seed}: drawn pixels outside every box"
    assert shapes == set(procedural.SHAPES)


def test_classes_follow_the_prompt():
    assert procedural.classes_in_prompt("a WORKER on a line", CLASSES) == ["person"]
    assert procedural.classes_in_prompt("an empty hall", CLASSES) == list(CLASSES)
    for seed in range(10):
        labels = {
            t.label
            for t in procedural.compose_scene(
                "p1", seed, "forklifts only", CLASSES, 320, 176
            ).things
        }
        assert labels == {"forklift"}


def test_objects_move_and_stay_inside_the_frame():
    things = scene().things
    start = procedural.boxes(scene(), 0)
    later = procedural.boxes(scene(), 5)
    assert [b["track"] for b in later] == list(range(len(things)))
    assert any(a["box"] != b["box"] for a, b in zip(start, later))
    for frame in range(0, 400, 7):
        for item in procedural.boxes(scene(), frame):
            assert 0 <= item["box"][0] and item["box"][2] <= 320


def test_image_size_follows_cosmos_aspect_ratios():
    assert procedural.image_size(320, "16:9") == (320, 176)
    assert procedural.image_size(320, "1:1") == (320, 320)
    assert procedural.image_size(320, "9:16") == (320, 576)
