"""JSON-schema validation with messages that name the file and the key, plus defaults."""

import copy
import functools
from pathlib import Path

import jsonschema
import yaml

from ..core.errors import ConfigError
from ..core.names import excerpt

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"


def load_schema(name):
    return copy.deepcopy(parsed_schema(name))  # a copy: callers may change theirs


@functools.cache
def parsed_schema(name):
    """Each schema parsed once per process (YAML parsing is most of the config check)."""
    with open(SCHEMA_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def with_excerpts(message, instance):
    """jsonschema's message with its echo of the whole instance cut to an excerpt."""
    message = message.replace(repr(instance), excerpt(instance))
    return message if len(message) <= 300 else message[:297] + "..."


def dotted(path):
    return ".".join(str(part) for part in path) or "(top level)"


def describe(error):
    """A one-line message for the first schema violation, naming the key."""
    key = dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return key, f"unknown key {', '.join(map(excerpt, unknown))}{hint}"
    if error.validator == "required":
        return key, error.message.replace("is a required property", "is required")
    if "propertyNames" in error.schema_path:
        rule = error.schema.get("pattern", "a non-empty name")
        return key, f"name {excerpt(error.instance)} is not allowed (it must match {rule})"
    if error.validator in ("oneOf", "anyOf") and "description" in error.schema:
        return (
            key,
            f"{excerpt(error.instance)} is not valid: expected {error.schema['description']}",
        )
    return key, with_excerpts(error.message, error.instance)


def validate_against_schema(instance, schema_name, source):
    schema = load_schema(schema_name)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        # The deepest error is the most specific one (e.g. the bad key, not its parent).
        error = max(errors, key=lambda e: len(e.absolute_path))
        key, problem = describe(error)
        raise ConfigError(source, key, problem)
    return schema


def resolve(schema, root):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return {**root["$defs"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def with_defaults(instance, schema, root=None):
    """A copy of `instance` with the schema's `default` values filled in, recursively."""
    root = root or schema
    schema = resolve(schema, root)
    if not isinstance(instance, dict):
        return instance
    result = copy.deepcopy(instance)
    properties = {key: resolve(sub, root) for key, sub in schema.get("properties", {}).items()}
    for key, sub in properties.items():
        if key not in result and "default" in sub:
            result[key] = copy.deepcopy(sub["default"])
        if key in result:
            result[key] = with_defaults(result[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key in result:
            if key not in properties:
                result[key] = with_defaults(result[key], extra, root)
    return result


STRING_TAG = "tag:yaml.org,2002:str"


def mapping_key_problem(node, path=()):
    """(dotted key, problem) for the first mapping key of a composed YAML document that is
    not text or appears twice, or None. safe_load reads `1:` as an int and `yes:` as a
    bool (and `1 == True`, so the two merge), and keeps the last of two equal keys: each
    loses a class or a setting without a word."""
    pending, seen = [(node, path)], set()
    while pending:
        node, path = pending.pop()
        if id(node) in seen:  # an alias: already walked
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            pending += [(child, path + (i,)) for i, child in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            keys = set()
            for key_node, child in node.value:
                line = key_node.start_mark.line + 1
                if key_node.tag != STRING_TAG or not isinstance(key_node, yaml.ScalarNode):
                    return dotted(path + (key_node.value,)), (
                        f"key {excerpt(str(key_node.value))} on line {line} is not text to YAML "
                        "(it reads as a number, boolean, null or other type): quote it"
                    )
                if key_node.value in keys:
                    return dotted(path + (key_node.value,)), f"key given twice (line {line})"
                keys.add(key_node.value)
                pending.append((child, path + (key_node.value,)))
    return None


def load_yaml_file(path, name=None):
    """A YAML file as data, refusing keys that are not text or given twice; errors name
    the file as `name` (default: the path)."""
    name = name or path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        document = yaml.compose(text, Loader=yaml.SafeLoader)
        problem = mapping_key_problem(document) if document is not None else None
        if problem:
            raise ConfigError(name, *problem)
        return yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(name, None, f"not valid YAML: {yaml_problem(error)}") from None


def yaml_problem(error):
    """What is wrong and where, without PyYAML's snippet of the offending line."""
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte {error.start})"
    if isinstance(error, yaml.reader.ReaderError):
        code = error.character if isinstance(error.character, int) else ord(error.character)
        return f"character U+{code:04X} is not allowed in YAML (at {error.position})"
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(error, "problem", None) or "cannot be parsed"
    return f"{problem[:100]}{where}"


def non_text_key(data, path=()):
    """The dotted path of the first mapping key of loaded data that is not a str, or None
    (for a config Snakemake loaded: `1:` and `yes:` keys arrive as int and bool)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                return dotted(path + (repr(key),))
            found = non_text_key(value, path + (key,))
            if found:
                return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found = non_text_key(value, path + (index,))
            if found:
                return found
    return None
