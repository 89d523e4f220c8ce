"""Checkpoints are loaded as weights only: a file crafted to run code is refused naming the
config key and the file, and nothing in it runs; the layouts real checkpoints have load."""

import argparse
import builtins
import json
from pathlib import Path

import pytest
import torch

from synthdet.core.errors import ConfigError
from synthdet.label.label_models import load_models
from synthdet.core.smoke_files import smoke_model_files

CLASSES = {"can": ["soda can"], "person": ["worker"]}


class RunsCode:
    """Unpickling this calls open(marker, "w"): a harmless stand-in for any command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


def test_smoke_models_are_built_where_the_plan_points(smoke):
    """The rules hand labeling jobs plan.smoke_model_files' paths: build_all must write there."""
    folder = Path(smoke["sam2"]["config"]).parents[1]
    files = smoke_model_files(folder)
    built = json.loads((folder / "models.json").read_text())
    assert built["sam2"] == files["sam2"]
    assert built["transformers"] == files["transformers"]
    assert built["groundingdino"] == {
        **files["groundingdino"],
        "text_encoder": files["text_encoder"],
    }
    for path in [files["text_encoder"], *files["sam2"].values(), *files["groundingdino"].values()]:
        assert Path(path).exists(), path


def settings_for(smoke, backend="groundingdino"):
    detector = {"backend": backend, "image_size": 256, **smoke[backend]}
    return {"device": "cpu", "detector": detector, "sam2": dict(smoke["sam2"])}


def weights_of(path):
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


@pytest.mark.fault("labeling: a Grounding DINO checkpoint that runs code when unpickled")
def test_groundingdino_checkpoint_that_runs_code_is_refused(smoke, tmp_path):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pth"
    model = weights_of(smoke["groundingdino"]["checkpoint"])
    torch.save({"model": model, "extra": RunsCode(marker)}, evil)
    settings = settings_for(smoke)
    settings["detector"]["checkpoint"] = str(evil)
    with pytest.raises(ConfigError) as refused:
        load_models(settings, CLASSES)
    message = str(refused.value)
    assert message.startswith(f"config: models.detector.checkpoint: {str(evil)!r} is refused")
    assert "io.open" in message and "nothing was run" in message
    assert not marker.exists()


@pytest.mark.fault("labeling: a SAM 2 checkpoint that runs code when unpickled")
def test_sam2_checkpoint_that_runs_code_is_refused_naming_its_key(smoke, tmp_path):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pt"
    torch.save({"model": weights_of(smoke["sam2"]["checkpoint"]), "x": RunsCode(marker)}, evil)
    settings = settings_for(smoke)
    settings["sam2"]["checkpoint"] = str(evil)
    with pytest.raises(ConfigError, match=r"^config: models\.sam2\.checkpoint: .*evil\.pt"):
        load_models(settings, CLASSES)
    assert not marker.exists()


def test_groundingdino_checkpoint_in_the_training_code_layout_loads(smoke, tmp_path):
    """The keys and types DINO-family training writes: model, optimizer, lr_scheduler,
    epoch and args as an argparse.Namespace (checkpoints.py says how we know)."""
    model = weights_of(smoke["groundingdino"]["checkpoint"])
    trained = tmp_path / "groundingdino_swint_ogc.pth"
    args = argparse.Namespace(lr=1e-4, output_dir="logs/run", frozen_weights=None, epochs=12)
    optimizer = {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0, 1]}]}
    scheduler = {"step_size": 11, "gamma": 0.1, "last_epoch": 11}
    layout = {"model": model, "optimizer": optimizer, "lr_scheduler": scheduler}
    torch.save({**layout, "epoch": 11, "args": args}, trained)
    settings = settings_for(smoke)
    settings["detector"]["checkpoint"] = str(trained)
    models = load_models(settings, CLASSES)
    loaded = models.detector.model.state_dict()
    assert all(torch.equal(loaded[name], value) for name, value in model.items())


@pytest.mark.fault("labeling: a transformers model folder whose weights are a pickle")
def test_transformers_model_dir_with_only_a_pickle_is_refused(smoke, tmp_path):
    """transformers' folder: only safetensors weights are read, never pytorch_model.bin."""
    folder = tmp_path / "detector"
    source = Path(smoke["transformers"]["model_dir"])
    folder.mkdir()
    for path in source.iterdir():
        if path.suffix != ".safetensors":
            (folder / path.name).write_bytes(path.read_bytes())
    marker = tmp_path / "code-ran"
    torch.save({"x": RunsCode(marker)}, folder / "pytorch_model.bin")
    settings = settings_for(smoke, "transformers")
    settings["detector"]["model_dir"] = str(folder)
    with pytest.raises(
        ConfigError, match=r"^config: models\.detector\.model_dir: .* has no \.safetensors"
    ):
        load_models(settings, CLASSES)
    assert not marker.exists()


@pytest.mark.fault("labeling: a Grounding DINO .py config that runs code")
def test_groundingdino_config_is_read_as_literals_never_run(smoke, tmp_path):
    marker = tmp_path / "code-ran"
    source = Path(smoke["groundingdino"]["config"]).read_text()
    for extra in [f"open({str(marker)!r}, 'w')", f"dropout = len(open({str(marker)!r}, 'w').name)"]:
        config = tmp_path / "groundingdino.py"
        config.write_text(source + extra + "\n")
        settings = settings_for(smoke)
        settings["detector"]["config"] = str(config)
        expected = r"^config: models\.detector\.config: .*groundingdino\.py' line \d+: only `name"
        with pytest.raises(ConfigError, match=expected):
            load_models(settings, CLASSES)
        assert not marker.exists()


@pytest.mark.parametrize(
    "where, value, problem",
    [
        (("image_encoder", "trunk", "_target_"), "builtins.open", "is not a SAM 2 model class"),
        (
            ("image_encoder", "trunk", "_target_"),
            "sam2.modeling.backbones.hieradet.torch.load",
            "is not a SAM 2 model class",
        ),
        (("image_encoder", "trunk", "weights_path"), "evil.pt", "weights come from models.sam2"),
    ],
)
@pytest.mark.fault("labeling: a SAM 2 YAML config that names other code to build")
def test_sam2_config_builds_only_sam2_model_classes(smoke, tmp_path, where, value, problem):
    import yaml

    marker = tmp_path / "code-ran"
    config = yaml.safe_load(Path(smoke["sam2"]["config"]).read_text())
    node = config["model"]
    for name in where[:-1]:
        node = node[name]
    node[where[-1]] = value
    if value == "builtins.open":
        node["_args_"] = [str(marker), "w"]
    path = tmp_path / "sam2.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = settings_for(smoke)
    settings["sam2"]["config"] = str(path)
    expected = rf"^config: models\.sam2\.config: .*sam2\.yaml': model\.{'.'.join(where)}: "
    with pytest.raises(ConfigError, match=expected) as refused:
        load_models(settings, CLASSES)
    assert problem in str(refused.value)
    assert not marker.exists()
