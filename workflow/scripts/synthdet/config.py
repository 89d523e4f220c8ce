"""The workflow config: validated once at start, then read through small accessors."""

from pathlib import Path

from .errors import ConfigError
from .schemas import load_schema, validate_against_schema, with_defaults
from .templates import load_template

CONFIG_SCHEMA = "config.schema.yaml"


def checked_config(config, source):
    """Validate `config` (loaded from `source`), fill defaults and load every template.

    Returns (config with defaults, {dataset: template}). Raises ConfigError naming the
    file and key of the first problem.
    """
    validate_against_schema(config, CONFIG_SCHEMA, source)
    config = with_defaults(config, load_schema(CONFIG_SCHEMA))
    templates = {}
    for name, dataset in config["datasets"].items():
        path = Path(dataset["template"])
        if not path.is_file():
            raise ConfigError(
                source, f"datasets.{name}.template", f"file {str(path)!r} does not exist"
            )
        templates[name] = load_template(path)
        if not dataset["images"] and not makes_videos(dataset):
            raise ConfigError(
                source,
                f"datasets.{name}.images",
                "is false and there is no video2world section: the dataset would be empty",
            )
    return config, templates


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


def seeds(dataset):
    value = dataset["seeds"]
    return list(range(value)) if isinstance(value, int) else list(value)


def makes_videos(dataset):
    return "video2world" in dataset
