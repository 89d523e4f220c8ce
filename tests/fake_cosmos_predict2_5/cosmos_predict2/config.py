"""Stand-in (tests only, not Cosmos) for cosmos_predict2/config.py of Cosmos-Predict2.5,
release 2025-10-06: the same InferenceArguments fields, checked by hand with the rules
pydantic applies there."""

import json
import os
from pathlib import Path

INFERENCE_TYPES = ("text2world", "image2world", "video2world")
MODELS = ("2B/pre-trained", "2B/post-trained", "14B/pre-trained")
SAMPLE_KEYS = ("prompt", "prompt_path", "input_path")


class ValidationError(ValueError):
    pass


class InferenceSample:
    prompt: str | None = None
    prompt_path: str | None = None
    input_path: str | None = None


class InferenceArguments:
    inference_type: str
    samples: dict[str, InferenceSample]
    negative_prompt: str = "the release's default negative prompt"
    seed: int = 1
    guidance: int = 7
    resolution: str = "none"
    num_output_frames: int = 77

    @classmethod
    def from_file(cls, path):
        """Like the release: .json or .yaml; paths relative to the file's folder."""
        path = Path(path)
        if path.suffix != ".json":
            raise ValueError(f"Unsupported file extension: {path.suffix}")
        data = json.loads(path.read_text())
        cwd = os.getcwd()
        os.chdir(path.parent)
        try:
            return validate(data)
        finally:
            os.chdir(cwd)


def validate(data):
    if not isinstance(data, dict):
        raise ValidationError("Input should be a valid dictionary")
    fields = InferenceArguments.__annotations__
    for key in data:
        if key not in fields:
            raise ValidationError(f"{key}: Extra inputs are not permitted")
    for key in ("inference_type", "samples"):
        if key not in data:
            raise ValidationError(f"{key}: Field required")
    if data["inference_type"] not in INFERENCE_TYPES:
        raise ValidationError(f"inference_type: Input should be one of {INFERENCE_TYPES}")
    args = {key: getattr(InferenceArguments, key, None) for key in fields}
    args.update(data)
    check_types(args)
    samples = {name: sample_of(name, value) for name, value in data["samples"].items()}
    if args["inference_type"] != "text2world":
        for name, sample in samples.items():
            if sample["input_path"] is None:
                raise ValidationError(f"samples.{name}: Input file is required")
    args["samples"] = samples
    return args


def check_types(args):
    if not isinstance(args["samples"], dict):
        raise ValidationError("samples: Input should be a valid dictionary")
    for key in ("seed", "guidance", "num_output_frames"):
        if type(args[key]) is not int:
            raise ValidationError(f"{key}: Input should be a valid integer")
    if not 0 <= args["guidance"] <= 7:
        raise ValidationError("guidance: Input should be between 0 and 7")
    if args["num_output_frames"] < 1:
        raise ValidationError("num_output_frames: Input should be greater than 0")
    for key in ("negative_prompt", "resolution"):
        if not isinstance(args[key], str):
            raise ValidationError(f"{key}: Input should be a valid string")


def sample_of(name, value):
    if not isinstance(value, dict):
        raise ValidationError(f"samples.{name}: Input should be a valid dictionary")
    for key in value:
        if key not in SAMPLE_KEYS:
            raise ValidationError(f"samples.{name}.{key}: Extra inputs are not permitted")
    sample = {key: value.get(key) for key in SAMPLE_KEYS}
    for key in ("prompt_path", "input_path"):
        if sample[key] is not None:
            path = Path(sample[key]).expanduser()
            if not path.is_file():
                raise ValidationError(f"samples.{name}.{key}: Path does not point to a file")
            sample[key] = path.resolve()
    if sample["prompt_path"] is not None:
        sample["prompt"] = sample["prompt_path"].read_text().strip()
    return sample
