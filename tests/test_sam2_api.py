"""The private members of sam2's SAM2ImagePredictor the labeling code uses (sam2_models.py
says why each stays): pinned here, so a sam2 that renames or reshapes them fails by name.
Whether their masks are predict()'s is checked in test_label_agreement.py."""

from types import SimpleNamespace

import pytest
from sam2.sam2_image_predictor import SAM2ImagePredictor

from synthdet.label import sam2_models


def bare_predictor(predictor_class=SAM2ImagePredictor, image_size=1024):
    """A predictor around a stand-in model: the constructor reads only image_size."""
    return predictor_class(SimpleNamespace(image_size=image_size))


def test_installed_sam2_has_the_private_members_used():
    assert sam2_models.private_api_problems(bare_predictor()) == []


def test_derived_feature_sizes_are_sam2s_own_for_1024_pixel_models():
    """The override replaces sam2's hard-coded sizes: it must equal them where they hold."""
    assert bare_predictor()._bb_feat_sizes == sam2_models.feature_sizes(1024)


def test_image_predictor_derives_the_feature_sizes_from_the_model():
    predictor = sam2_models.image_predictor(SimpleNamespace(image_size=256))
    assert predictor._bb_feat_sizes == [(64, 64), (32, 32), (16, 16)]


class RenamedBoxes(SAM2ImagePredictor):
    def _predict(self, point_coords, point_labels, box=None, mask_input=None, **options):
        raise AssertionError("never called")


class NoFeatureSizes(SAM2ImagePredictor):
    def __init__(self, model):
        super().__init__(model)
        del self._bb_feat_sizes


class NoPrepPrompts(SAM2ImagePredictor):
    _prep_prompts = None


@pytest.mark.parametrize(
    "changed, named",
    [
        (RenamedBoxes, "_predict("),
        (NoFeatureSizes, "no _bb_feat_sizes"),
        (NoPrepPrompts, "no _prep_prompts"),
    ],
)
def test_a_changed_sam2_is_refused_naming_the_member(monkeypatch, changed, named):
    problems = sam2_models.private_api_problems(bare_predictor(changed))
    assert len(problems) == 1 and named in problems[0]
    monkeypatch.setattr("sam2.sam2_image_predictor.SAM2ImagePredictor", changed)
    with pytest.raises(RuntimeError, match=r"sam2's SAM2ImagePredictor has changed") as error:
        sam2_models.image_predictor(SimpleNamespace(image_size=1024))
    assert named in str(error.value) and "sam2 1.1.0" in str(error.value)
