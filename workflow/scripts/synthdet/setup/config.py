"""The workflow config: validated once at start, then read through small accessors."""

from pathlib import Path

from ..core.errors import ConfigError
from . import ontology
from .cosmos_release import release_problem
from .schemas import load_schema, non_text_key, validate_against_schema, with_defaults
from .templates import check_size, load_template, prompt_count, template_path

CONFIG_SCHEMA = "config.schema.yaml"


def checked_config(config, source):
    """Validate `config` (loaded from `source`), fill defaults and load every template.

    Returns (config with defaults, {dataset: template}). Raises ConfigError naming the
    file and key of the first problem.
    """
    bad_key = non_text_key(config)
    if bad_key:
        raise ConfigError(
            source,
            bad_key,
            "this key is not text to YAML (`1:` and `yes:` "
            "read as a number and a boolean): quote it",
        )
    validate_against_schema(config, CONFIG_SCHEMA, source)
    config = with_defaults(config, load_schema(CONFIG_SCHEMA))
    templates = {}
    for name, dataset in config["datasets"].items():
        key = f"datasets.{name}.template"
        path = Path(dataset["template"])  # as the user wrote it: how messages name it
        templates[name] = load_template(template_path(path, source, key), path)
        check_size(templates[name], config["max_prompts"], path)
        check_augment(dataset, templates[name], config["max_prompts"], source, name)
        check_labeling(dataset["labeling"], templates[name]["classes"], source, name)
        check_propagator(dataset, source, name)
        check_validator(dataset, source, name)
        check_critic_prompts(dataset, source, name)
        check_caption(config["models"]["detector"], dataset["labeling"], templates[name], path)
        if not dataset["images"] and not makes_videos(dataset):
            raise ConfigError(
                source,
                f"datasets.{name}.images",
                "is false and there is no video2world section: the dataset would be empty",
            )
    check_sam3_model(config, source)
    return config, templates


def check_sam3_model(config, source):
    """SAM 3 loads from a model folder: refuse a config that labels a dataset with real
    models (not smoke ones) without naming it."""
    detector = config["models"]["detector"]
    real = [n for n, ds in config["datasets"].items() if not ds["labeling"]["smoke_models"]]
    if detector["backend"] == "sam3" and real and not detector.get("model_dir"):
        raise ConfigError(
            source,
            "models.detector.model_dir",
            f"is not set, and backend sam3 labels {', '.join(real)} with it: point it at a "
            "SAM 3 model folder (config.json, processor files, .safetensors weights)",
        )


def check_augment(dataset, template, max_prompts, source, name):
    """Variations replace each template prompt, so they count against max_prompts too."""
    if "augment" not in dataset:
        return
    variations = dataset["augment"]["variations"]
    total = prompt_count(template) * variations
    if total > max_prompts:
        raise ConfigError(
            source,
            f"datasets.{name}.augment.variations",
            f"{variations} per template prompt make {total} prompts, above max_prompts "
            f"({max_prompts})",
        )


def check_labeling(labeling, classes, source, name):
    key = f"datasets.{name}.labeling.thresholds"
    thresholds = labeling["thresholds"]
    for label, override in thresholds["per_class"].items():
        if label not in classes:
            raise ConfigError(
                source,
                f"{key}.per_class.{label}",
                f"no such class in the template (classes: {', '.join(classes)})",
            )
    floor = labeling["candidate_floor"]
    for where, values in [("", thresholds)] + [
        (f"per_class.{label}.", o) for label, o in thresholds["per_class"].items()
    ]:
        for which in ("box_threshold", "text_threshold"):
            if which in values and values[which] < floor:
                raise ConfigError(
                    source,
                    f"{key}.{where}{which}",
                    f"{values[which]} is below labeling.candidate_floor ({floor}): the GPU stage "
                    "kept nothing under the floor; lower the floor (that reruns the GPU stage)",
                )


def check_validator(dataset, source, name):
    """Dropping or flagging rejected labels needs a validator to reject them."""
    mode = dataset["labeling"]["thresholds"].get("validator", "off")
    if mode != "off" and not dataset.get("critic", {}).get("labels", {}).get("enabled"):
        raise ConfigError(
            source,
            f"datasets.{name}.labeling.thresholds.validator",
            f"is {mode!r} but the dataset has no label validator: add a `critic:` block "
            "(critic.labels.enabled true) or set it to 'off'",
        )


# The fields each critic question may name; anything else in braces would fail mid-run.
PROMPT_FIELDS = {"media": {"what": "image", "prompt": "p"}, "labels": {"class_name": "c"}}


def check_critic_prompts(dataset, source, name):
    for check, fields in PROMPT_FIELDS.items():
        prompt = dataset.get("critic", {}).get(check, {}).get("prompt")
        if prompt is None:
            continue
        try:
            prompt.format(**fields)
        except (KeyError, IndexError, ValueError) as error:
            names = ", ".join("{" + field + "}" for field in fields)
            raise ConfigError(
                source,
                f"datasets.{name}.critic.{check}.prompt",
                f"cannot be filled in ({type(error).__name__}: {error}): it may name only "
                f"{names}; write other braces twice ({{{{ }}}})",
            ) from None


def check_propagator(dataset, source, name):
    """The procedural stand-in propagator reads the generator's ground truth: only the
    procedural generator writes one."""
    if dataset["labeling"]["video"]["propagator"] == "procedural_stand_in":
        if dataset["generator"] != "procedural":
            raise ConfigError(
                source,
                f"datasets.{name}.labeling.video.propagator",
                "procedural_stand_in moves masks with the procedural generator's known motion, "
                f"and this dataset's generator is {dataset['generator']!r}, which has no ground "
                "truth: use sam2",
            )


def check_caption(detector, labeling, template, template_path):
    """Refuse classes whose detector caption passes the model's 256 text tokens, naming
    the phrase where it overflows. Counted exactly with the configured tokenizer folder
    when it is here; otherwise (smoke models not built yet, a folder only on the GPU
    nodes) as a lower bound, a token per word and punctuation mark, which refuses only
    captions that surely overflow. Loading the models counts again, exactly."""
    if detector["backend"] == "sam3":
        return  # no caption: a prompt per phrase, each checked when the model loads
    onto = ontology.build(template["classes"])
    folder = None if labeling["smoke_models"] else tokenizer_folder(detector)
    if folder:
        offsets, counted = exact_offsets(folder, onto.caption), "tokens"
    else:
        offsets, counted = ontology.word_offsets(onto.caption), "tokens at least"
    problem = ontology.overflow(onto, offsets, counted)
    if problem:
        raise ConfigError(template_path, "classes", problem)


def tokenizer_folder(detector):
    """The configured detector's tokenizer folder when it exists on this host, else None."""
    key = "model_dir" if detector["backend"] == "transformers" else "text_encoder"
    folder = detector.get(key)
    return folder if folder and Path(folder).is_dir() else None


def exact_offsets(folder, caption):
    from transformers import AutoTokenizer  # only when a tokenizer folder is configured

    tokenizer = AutoTokenizer.from_pretrained(folder)
    return tokenizer(caption, return_offsets_mapping=True)["offset_mapping"]


def config_source(configfiles):
    """How to name the config in messages: its file(s), each once, relative when possible."""
    names = []
    for path in configfiles:
        path = Path(path).resolve()
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
        if str(path) not in names:
            names.append(str(path))
    return " + ".join(names) or "config"


def labeling_defaults(key):
    """The schema's defaults of `labeling.<key>`, as a dataset that sets none gets them."""
    schema = load_schema(CONFIG_SCHEMA)
    return with_defaults({}, schema["$defs"]["labeling"]["properties"][key], schema)


def default_thresholds():
    """The CPU stage's settings when a dataset sets none."""
    return labeling_defaults("thresholds")


def seeds(dataset):
    value = dataset["seeds"]
    return list(range(value)) if isinstance(value, int) else list(value)


def makes_videos(dataset):
    return "video2world" in dataset


# The rules that start Cosmos-Predict2.
COSMOS_RULES = ("text2image", "video2world")


def check_site_settings(config, source, planned):
    """Before the first job of a real run: stop when a planned Cosmos job lacks the site
    setting it needs. `planned` holds (rule name, dataset) of the jobs about to run; a
    dry run never calls this, so it still plans every dataset."""
    cosmos = sorted(
        {
            name
            for rule, name in planned
            if rule in COSMOS_RULES and config["datasets"][name]["generator"] == "cosmos"
        }
    )
    if cosmos and not config["cosmos"].get("workdir"):
        raise ConfigError(
            source,
            "cosmos.workdir",
            f"is not set, and {', '.join(cosmos)} would run Cosmos-Predict2: point it at your "
            "Cosmos-Predict2 checkout, or ask for other datasets only, e.g. "
            "`snakemake results/demo/summary.json`",
        )
    if cosmos and config["cosmos"].get("release") == "predict2.5":
        problem = release_problem(config["cosmos"]["workdir"])
        if problem:
            raise ConfigError(source, "cosmos.workdir", f"release predict2.5: {problem}")
