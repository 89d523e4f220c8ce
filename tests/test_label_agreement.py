"""Agreement with the upstream libraries' own inference, on smoke models and real image
files: the labels real checkpoints give here must be those upstream's code gives.

Random smoke weights make this strict: a one-pixel difference in the resized input, or
half a grey level, moves every Grounding DINO query (test_tolerance_sees_one_pixel shows
it does at these tolerances). Each reference below is the library's documented inference
path, driven directly; the project's code runs through its own entry points.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from synthdet.core import boxes as box_ops
from synthdet.core import rle
from synthdet.label.detectors import longer_side_cap
from synthdet.label.image_labeling import detect, segment
from synthdet.label.job_settings import CandidateSettings
from synthdet.label.job_io import Stopwatch
from synthdet.label.label_models import load_models
from synthdet.label.prefetch import decode_rgb
from synthdet.label.video_labeling import Sam2Propagator
from synthdet.setup import ontology

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # load_image's, written out
CLASSES = {"can": ["soda can", "drink can"], "person": ["worker"], "forklift": ["forklift"]}
CAPTION = ontology.build(CLASSES).caption
SCORE_TOLERANCE = 1e-5  # float32 rounding; a one-pixel resize moves scores by ~1e-2
BOX_TOLERANCE = 1e-5  # normalized


def scene(width, height, seed):
    """A procedural-style picture: gradient floor, boxes, cans (as circles), noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    image = np.stack([xs * 200 / width, ys * 180 / height, (xs + ys) % 97 + 60], axis=-1)
    for _ in range(5):
        x, y = rng.integers(0, width - 40), rng.integers(0, height - 40)
        w, h = rng.integers(12, 40, size=2)
        image[y : y + h, x : x + w] = rng.integers(0, 255, size=3)
        cx, cy, r = x + w // 2, y + h // 2, min(w, h) // 3
        image[(xs - cx) ** 2 + (ys - cy) ** 2 < r * r] = rng.integers(0, 255, size=3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    """The demo's 16:9 shape as JPEG, and a shape where int() and round() sizes differ."""
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for index, (width, height, suffix) in enumerate([(1280, 704, "jpg"), (333, 250, "png")]):
        path = folder / f"scene{index}.{suffix}"
        Image.fromarray(scene(width, height, index)).save(path)
        paths.append(str(path))
    return paths


LOADED = {}


def project_models(smoke, backend, image_size):
    """The project's models, loaded through its own loader (once per module)."""
    key = (smoke["sam2"]["checkpoint"], backend, image_size)
    if key not in LOADED:
        detector = {"backend": backend, "image_size": image_size, **smoke[backend]}
        settings = {"device": "cpu", "detector": detector, "sam2": smoke["sam2"]}
        LOADED[key] = load_models(settings, CLASSES)
    return LOADED[key]


# --- Grounding DINO, original implementation -------------------------------------------


def groundingdino_reference(smoke, path, image_size):
    """groundingdino.util.inference: load_model, load_image's transforms, then predict()'s
    steps (the model call, sigmoid of the logits) without its thresholding: its returned
    score, a max over all 256 positions, saturates on these random weights."""
    import groundingdino.datasets.transforms as T
    from groundingdino.util.inference import load_image, load_model

    model = load_model(
        smoke["groundingdino"]["config"], smoke["groundingdino"]["checkpoint"], "cpu"
    )
    if image_size == 800:
        _, tensor = load_image(path)  # upstream's own, fixed at 800
    else:  # load_image's transforms with 800 and 1333 scaled to image_size
        resize = T.RandomResize([image_size], max_size=longer_side_cap(image_size))
        transform = T.Compose([resize, T.ToTensor(), T.Normalize(MEAN, STD)])
        tensor, _ = transform(Image.open(path).convert("RGB"), None)
    with torch.no_grad():
        outputs = model(tensor[None], captions=[CAPTION])
    return outputs["pred_boxes"][0].numpy(), outputs["pred_logits"][0].sigmoid().numpy()


@pytest.mark.parametrize("image_size", [256, 800])
def test_groundingdino_backend_gives_what_its_inference_gives(smoke, image_files, image_size):
    models = project_models(smoke, "groundingdino", image_size)
    # at 800 both images go in at least 800 high: the smaller one is enough (CPU time)
    for path in image_files if image_size == 256 else image_files[1:]:
        image, _ = decode_rgb(path)
        found = models.detector.detect(image, CAPTION)
        boxes, probs = groundingdino_reference(smoke, path, image_size)
        tokens = found.token_probs.shape[1]
        assert (probs[:, tokens:] == 0).all()  # past the caption: nothing lost
        np.testing.assert_allclose(found.boxes_cxcywh, boxes, atol=BOX_TOLERANCE, rtol=0)
        np.testing.assert_allclose(
            found.token_probs, probs[:, :tokens], atol=SCORE_TOLERANCE, rtol=0
        )


def test_tolerance_sees_one_pixel(smoke, image_files):
    """The smoke model at these tolerances tells apart inputs one pixel wider."""
    import groundingdino.datasets.transforms as T
    from groundingdino.util.inference import load_model

    model = load_model(
        smoke["groundingdino"]["config"], smoke["groundingdino"]["checkpoint"], "cpu"
    )
    picture = Image.open(image_files[0]).convert("RGB")
    boxes, probs = [], []
    for width in (427, 428):
        transform = T.Compose(
            [T.RandomResize([(width, 235)]), T.ToTensor(), T.Normalize(MEAN, STD)]
        )
        tensor, _ = transform(picture, None)
        with torch.no_grad():
            outputs = model(tensor[None], captions=[CAPTION])
        boxes.append(outputs["pred_boxes"][0])
        probs.append(outputs["pred_logits"][0].sigmoid())
    assert (boxes[0] - boxes[1]).abs().max() > 100 * BOX_TOLERANCE
    assert (probs[0] - probs[1]).abs().max() > 100 * SCORE_TOLERANCE


# --- Grounding DINO, transformers ------------------------------------------------------


def transformers_reference(smoke, path, size=None):
    """The processor, the model and post_process_grounded_object_detection (its boxes and
    scores), and the per-token sigmoid it starts from (its scores, a max over all tokens,
    saturate on these random weights)."""
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    folder = smoke["transformers"]["model_dir"]
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForZeroShotObjectDetection.from_pretrained(folder).eval()
    picture = Image.open(path).convert("RGB")
    extra = {"size": size} if size else {}
    inputs = processor(images=picture, text=CAPTION, return_tensors="pt", **extra)
    with torch.no_grad():
        outputs = model(**inputs)
    (result,) = processor.post_process_grounded_object_detection(
        outputs,
        inputs.input_ids,
        threshold=0.0,
        text_threshold=0.0,
        target_sizes=[(picture.height, picture.width)],
    )
    return result["boxes"].numpy(), result["scores"].numpy(), outputs.logits[0].sigmoid().numpy()


@pytest.mark.parametrize("image_size", [256, 320])
def test_transformers_backend_gives_what_its_processor_and_post_processing_give(
    smoke, image_files, image_size
):
    models = project_models(smoke, "transformers", image_size)
    # 256 is the size saved with the smoke processor: the reference is its plain call
    size = None if image_size == 256 else {"shortest_edge": 320, "longest_edge": 533}
    for path in image_files if image_size == 256 else image_files[1:]:
        image, _ = decode_rgb(path)
        height, width = image.shape[:2]
        found = models.detector.detect(image, CAPTION)
        boxes, scores, probs = transformers_reference(smoke, path, size)
        assert len(scores) == len(found.token_probs)
        ours = box_ops.cxcywh_to_xyxy(found.boxes_cxcywh, width, height)  # clamped to the image
        clamped = np.clip(boxes, 0, [width, height, width, height])
        np.testing.assert_allclose(ours, clamped, atol=BOX_TOLERANCE * width, rtol=0)
        np.testing.assert_allclose(
            found.token_probs.max(axis=1), scores, atol=SCORE_TOLERANCE, rtol=0
        )
        tokens = found.token_probs.shape[1]
        assert (probs[:, tokens:] == 0).all()
        np.testing.assert_allclose(
            found.token_probs, probs[:, :tokens], atol=SCORE_TOLERANCE, rtol=0
        )


# --- SAM 2 -------------------------------------------------------------------------------


def fresh_image_predictor(model):
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    predictor = SAM2ImagePredictor(model)
    # Its feature sizes are hard-coded for 1024-pixel models; the smoke model is 256.
    size = model.image_size
    predictor._bb_feat_sizes = [(size // 4,) * 2, (size // 8,) * 2, (size // 16,) * 2]
    return predictor


def test_sam2_image_masks_are_those_of_its_predict(smoke, image_files):
    models = project_models(smoke, "groundingdino", 256)
    settings = CandidateSettings(candidate_floor=0.0, max_candidates=12)
    for path in image_files[1:]:
        image, _ = decode_rgb(path)
        pixel_boxes, _ = detect(models, image, settings, Stopwatch())
        runs, scores = segment(models, image, pixel_boxes, Stopwatch())
        predictor = fresh_image_predictor(models.sam2)
        predictor.set_image(image)
        masks, ref_scores, _ = predictor.predict(box=pixel_boxes, multimask_output=False)
        height, width = image.shape[:2]
        ours = np.stack([rle.decode(m) for m, _, _ in rle.from_runs(runs, height, width)])
        assert ours.shape == masks[:, 0].shape and ours.any()
        assert np.array_equal(ours, masks[:, 0] > 0)
        np.testing.assert_allclose(scores, ref_scores[:, 0], atol=SCORE_TOLERANCE, rtol=0)


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory):
    """Eight JPEG frames of a square crossing a procedural scene, as SAM 2 reads them."""
    folder = tmp_path_factory.mktemp("frames")
    background = scene(128, 64, 7)
    for index in range(8):
        frame = background.copy()
        frame[20:40, 10 + 10 * index : 30 + 10 * index] = (230, 40, 40)
        Image.fromarray(frame).save(folder / f"{index:05d}.jpg", quality=95)
    return folder


@pytest.mark.parametrize("start, count, reverse", [(2, 5, False), (6, 6, True)])
def test_sam2_video_masks_are_those_of_its_video_predictor(
    smoke, frames_dir, start, count, reverse
):
    models = project_models(smoke, "groundingdino", 256)
    seed = np.zeros((64, 128), bool)
    seed[20:40, 10 + 10 * start : 30 + 10 * start] = True
    record = {"mask": rle.encode(seed)}
    ours = Sam2Propagator(models, frames_dir, 64, 128)(start, {3: record}, count, reverse)

    sam2 = models.sam2  # the reference: SAM2VideoPredictor driven directly
    with torch.inference_mode():
        state = sam2.init_state(video_path=str(frames_dir))
        sam2.add_new_mask(state, frame_idx=start, obj_id=3, mask=seed)
        reference = {
            frame: (logits[0, 0] > 0).numpy()
            for frame, _, logits in sam2.propagate_in_video(
                state, start_frame_idx=start, max_frame_num_to_track=count, reverse=reverse
            )
        }
    assert sorted(ours) == sorted(reference) and len(reference) == count + 1
    for frame, mask in reference.items():
        assert np.array_equal(rle.decode(ours[frame][3]["mask"]), mask), frame
    assert any(mask.any() for mask in reference.values())


# --- precision ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "capability, bf16", [((7, 0), False), ((7, 5), False), ((8, 0), True), ((9, 0), True)]
)
def test_bf16_only_for_sam2_and_only_on_native_bf16_gpus(monkeypatch, capability, bf16):
    from synthdet.label import precision

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # emulated too
    assert precision.native_bf16(torch.device("cuda:0")) is bf16
    context = precision.sam2_autocast(torch.device("cuda:0"))
    assert isinstance(context, torch.autocast) is bf16
    if bf16:
        assert context.fast_dtype == torch.bfloat16
    assert not precision.native_bf16(torch.device("cpu"))
    assert not isinstance(precision.sam2_autocast(torch.device("cpu")), torch.autocast)


def test_the_detector_runs_in_float32(smoke, image_files, monkeypatch):
    """Grounding DINO never enters SAM 2's bf16 context, even on a GPU that would."""
    from synthdet.label import precision

    models = project_models(smoke, "groundingdino", 256)
    entered = []
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    monkeypatch.setattr(precision, "sam2_autocast", lambda device: entered.append(device))
    seen = []
    hook = models.detector.model.register_forward_hook(
        lambda module, args, out: seen.append(
            (out["pred_logits"].dtype, torch.is_autocast_enabled())
        )
    )
    try:
        models.detector.detect(decode_rgb(image_files[1])[0], CAPTION)
    finally:
        hook.remove()
    assert seen == [(torch.float32, False)] and entered == []
