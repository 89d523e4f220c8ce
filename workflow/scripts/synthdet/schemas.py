"""JSON-schema validation with messages that name the file and the key, plus defaults."""

import copy
from pathlib import Path

import jsonschema
import yaml

from .errors import ConfigError

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def load_schema(name):
    with open(SCHEMA_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


EXCERPT_CHARS = 40


def excerpt(value, limit=EXCERPT_CHARS):
    """A value as messages show it: repr (so control and invisible characters are escaped),
    cut to `limit` characters. A message never echoes more of a value than this: a file
    read by mistake (a dotenv file) must not end up in a log."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
