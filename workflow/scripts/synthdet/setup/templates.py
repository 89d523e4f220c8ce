"""Prompt templates: load, check and expand them into prompts with stable ids.

A template file holds a prompt `template` with `{placeholders}`, the `variables`
(values for each placeholder), an optional `sample` (how many combinations to draw
with a fixed RNG seed instead of the full grid), an optional `negative_prompt`, an
optional `video_template` and the class ontology `classes` (class -> phrases).
"""

import hashlib
import math
import random
import string
from pathlib import Path

from ..core.errors import ConfigError
from ..core.names import excerpt, key_part, name_key, name_problem, prompt_text_problem
from .schemas import load_yaml_file, validate_against_schema

TEMPLATE_SCHEMA = "template.schema.yaml"


TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json")


def template_path(value, source, key, project=None):
    """The file a config's `template:` names, resolved inside the project (the workflow's
    working directory, `project`). A path that leads elsewhere (`../.env`, `/etc/passwd`, a
    symlink out of the project) or to a file that is no YAML is refused before it is read:
    a template's content can end up in an error message."""
    project, value = Path(project or Path.cwd()).resolve(), str(value)
    try:
        path = (project / value).resolve()
    except (OSError, ValueError) as error:  # a NUL byte, a symlink loop
        raise ConfigError(source, key, f"{excerpt(value)} is not a usable path") from None
    if not path.is_relative_to(project):
        raise ConfigError(
            source,
            key,
            f"{excerpt(value)} is outside the project folder: templates are read "
            "only from inside it (e.g. config/prompts/)",
        )
    if path.suffix.lower() not in TEMPLATE_SUFFIXES:
        raise ConfigError(source, key, f"{excerpt(value)} is not a .yaml, .yml or .json file")
    if not path.is_file():
        raise ConfigError(source, key, f"file {excerpt(value)} does not exist")
    return path


def load_template(path, name=None):
    """Read and check a template file; every mistake names the file (as `name`, default
    the path) and the key, and echoes no more of the file than a short excerpt."""
    path = Path(path)
    name = name or path
    if not path.is_file():
        raise ConfigError(name, None, "prompt template file not found")
    template = load_yaml_file(path, name)
    if not isinstance(template, dict):
        # Not echoed: a file named by mistake (a dotenv file) is one long string.
        raise ConfigError(
            name,
            None,
            f"not a prompt template: it holds a {type(template).__name__}, "
            "not a mapping of keys",
        )
    validate_against_schema(template, TEMPLATE_SCHEMA, name)
    check_template(template, name)
    return template


def placeholders(text, source, key):
    """Names of the `{placeholders}` in `text`, in order of first appearance.

    Only plain `{name}`: a conversion (`{count!r}` puts quotes in the prompt) or a format
    spec (`{count:x}` fails on a word) would change or break the prompt later, so both are
    refused here, naming the file and key."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as error:
        raise ConfigError(source, key, f"bad placeholder syntax: {error}") from None
    names = []
    for _, field, spec, conversion in fields:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            written = (
                field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            )
            raise ConfigError(
                source,
                key,
                f"placeholder {excerpt('{' + written + '}')} is not a plain name "
                "(use {name}, with no !conversion or :format; write {{ and }} for literal "
                "braces)",
            )
        if field not in names:
            names.append(field)
    return names


def check_template(template, source):
    """Checks the JSON schema cannot express."""
    check_prompt_texts(template, source)
    names = placeholders(template["template"], source, "template")
    variables = template.get("variables", {})
    for name in names:
        if name not in variables:
            raise ConfigError(source, f"variables.{name}", "placeholder has no values")
    if "video_template" in template:
        for name in placeholders(template["video_template"], source, "video_template"):
            if name not in variables:
                raise ConfigError(source, f"variables.{name}", "placeholder has no values")
    for name, values in variables.items():
        if name not in names:
            raise ConfigError(
                source, f"variables.{name}", "not used by `template` (it would repeat prompts)"
            )
        if len(set(values)) != len(values):
            raise ConfigError(source, f"variables.{name}", "lists a value twice")
    check_ontology(template["classes"], source)


def check_prompt_texts(template, source):
    """Every text that becomes part of a prompt can be written as UTF-8."""
    keys = ("template", "video_template", "negative_prompt")
    texts = [(key, template[key]) for key in keys if key in template]
    texts += [
        (f"variables.{key_part(name)}.{i}", value)
        for name, values in template.get("variables", {}).items()
        for i, value in enumerate(values)
    ]
    for key, text in texts:
        problem = isinstance(text, str) and prompt_text_problem(text)
        if problem:
            raise ConfigError(source, key, problem)


def check_ontology(classes, source):
    """Class names and phrases are valid names (names.py); no two classes read the same,
    and no phrase reads the same as another class's phrase."""
    named, owner = {}, {}
    for name, phrases in classes.items():
        problem = name_problem(name)
        if problem:
            raise ConfigError(source, "classes", problem)
        if name_key(name) in named:
            raise ConfigError(
                source,
                "classes",
                f"class names {excerpt(named[name_key(name)])} and {excerpt(name)} read the same "
                "(after Unicode normalisation, case and spaces): one class would hide the other",
            )
        named[name_key(name)] = name
        for index, phrase in enumerate(phrases):
            problem = name_problem(phrase, "phrase")
            if problem:
                raise ConfigError(source, f"classes.{key_part(name)}.{index}", problem)
            key = name_key(phrase)
            if key in owner and owner[key] != name:
                raise ConfigError(
                    source,
                    f"classes.{key_part(name)}",
                    f"phrase {excerpt(phrase)} also belongs to class {excerpt(owner[key])}: "
                    "a detection could not be given one class",
                )
            owner[key] = name


def grid_size(template):
    return math.prod(len(values) for values in template.get("variables", {}).values())


def prompt_count(template):
    """How many prompts the template expands to: its sample, or the whole grid."""
    sample = template.get("sample")
    return grid_size(template) if sample is None else sample["count"]


def combination(variables, index):
    """The `index`-th combination of the grid, decoded as a mixed-radix number."""
    values = {}
    for name in reversed(list(variables)):
        index, digit = divmod(index, len(variables[name]))
        values[name] = variables[name][digit]
    return {name: values[name] for name in variables}


def check_size(template, max_prompts, source):
    """The template expands to at most `max_prompts` prompts (checked before expanding)."""
    size = grid_size(template)
    sample = template.get("sample")
    if sample is None:
        if size > max_prompts:
            raise ConfigError(
                source,
                "variables",
                f"the full grid has {size} combinations, above max_prompts ({max_prompts}); "
                "add `sample: {count: N, seed: S}` or raise max_prompts in the config",
            )
        return
    count = sample["count"]
    if count > size:
        raise ConfigError(
            source, "sample.count", f"{count} is more than the {size} combinations of the grid"
        )
    if count > max_prompts:
        raise ConfigError(source, "sample.count", f"{count} is above max_prompts ({max_prompts})")


def combination_indices(template):
    """Grid positions to render: all of them, or a fixed-seed sample."""
    size = grid_size(template)
    sample = template.get("sample")
    if sample is None:
        return range(size)
    # random.sample over a range draws without building the grid, so huge grids stay cheap.
    return sorted(random.Random(sample["seed"]).sample(range(size), sample["count"]))


def prompt_id(prompt_text):
    """Stable id from the prompt text: the same prompt keeps its id when the grid grows.

    Hex digits cannot spell `train`, `test` or `val`, which Edge Impulse would read as
    a split in a file name.
    """
    return "p" + hashlib.sha256(prompt_text.encode("utf-8")).hexdigest()[:12]


def expand(template, source):
    """All prompts of a template as dicts {id, prompt, video_prompt, values}.

    Check its size with check_size() first: a typo in a grid can mean billions.
    """
    variables = template.get("variables", {})
    video_template = template.get("video_template", template["template"])
    prompts, seen = [], {}
    for index in combination_indices(template):
        values = combination(variables, index)
        text = template["template"].format(**values)
        pid = prompt_id(text)
        if pid in seen:
            raise ConfigError(
                source,
                "variables",
                f"combinations {excerpt(seen[pid])} and {excerpt(values)} render the same prompt "
                f"{excerpt(text)}",
            )
        seen[pid] = values
        prompts.append(
            {
                "id": pid,
                "prompt": text,
                "video_prompt": video_template.format(**values),
                "values": values,
            }
        )
    return prompts
