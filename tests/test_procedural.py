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


def test_ground_truth_boxes_cover_exactly_the_drawn_objects():
    for seed in range(20):
        image, truth = procedural.render(scene(seed=seed))
        pixels = np.asarray(image)
        for thing, item in zip(scene(seed=seed).things, truth):
            x1, y1, x2, y2 = item["box"]
            assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 176
            middle = pixels[(y1 + y2 - 1) // 2, (x1 + x2 - 1) // 2]
            assert tuple(middle) == thing.colour, (seed, item)
            # every object pixel lies inside its box: the rows just outside hold no object colour
            above = pixels[y1 - 1, x1:x2] if y1 > 0 else np.zeros((0, 3))
            assert not any(tuple(p) == thing.colour for p in above)


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
