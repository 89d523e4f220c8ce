"""Writes config/README.md: its key tables come from the schemas' descriptions and defaults.

The schemas (workflow/schemas/config.schema.yaml, template.schema.yaml) are the one place a
key is described; the prose around the tables is tools/config_doc.md, whose `@..._table@`
lines are replaced by the tables. Run with `make config-doc`; tests/test_config_doc.py
fails when config/README.md differs from what this writes.
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "workflow" / "schemas"
TEMPLATE = ROOT / "tools" / "config_doc.md"
OUTPUT = ROOT / "config" / "README.md"
NOTICE = (
    "<!-- Written by tools/config_doc.py from workflow/schemas/*.schema.yaml and "
    "tools/config_doc.md: edit those and run `make config-doc`. -->\n"
)
# Links are relative to config/README.md, where the schemas' `docs/x.md` paths are read.
DOCS_PATH = re.compile(r"(?<![\w/])(docs/[\w.-]+\.md)")


def resolve(schema, root):
    """A property's schema with a local `$ref` merged in (the property's own keys win)."""
    if "$ref" not in schema:
        return schema
    target = root
    for part in schema["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**resolve(target, root), **{k: v for k, v in schema.items() if k != "$ref"}}


def literal(value):
    """A default as YAML flow text: null, true, [python], {}."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    return str(value)


def default_cell(name, schema, required):
    if name in required:
        return "required"
    if "default" in schema:
        return f"`{literal(schema['default'])}`"
    # An optional key with no default (video2world, augment, video_template) is left out.
    return "absent"


def meaning_cell(schema):
    text = " ".join(schema.get("description", "").split())
    choices = [f"`{literal(value)}`" for value in schema.get("enum", [])]
    # The allowed values, unless the description already names each of them.
    if choices and not all(choice in text for choice in choices):
        text += " One of " + ", ".join(choices) + "."
    text = DOCS_PATH.sub(r"[\1](../\1)", text)
    return text.replace("|", "\\|")


def rows(schema, root, prefix=""):
    """One row per leaf key and per described object, in the schema's order."""
    required = set(schema.get("required", []))
    for name, child in schema.get("properties", {}).items():
        child = resolve(child, root)
        key = prefix + name
        is_object = "properties" in child
        if "description" in child or not is_object:
            yield key, default_cell(name, child, required), meaning_cell(child)
        if is_object:
            yield from rows(child, root, key + ".")


def table(row_list):
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{key}` | {default} | {meaning} |" for key, default, meaning in row_list]
    return "\n".join(lines)


def config_rows(config_schema):
    """The top-level keys; `datasets` is one row, its entries are the dataset table."""
    top = {**config_schema, "properties": dict(config_schema["properties"])}
    datasets = top["properties"].pop("datasets")
    yield from rows(top, config_schema)
    yield "datasets.<name>", "required", meaning_cell(datasets)


def render():
    config_schema = yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text("utf-8"))
    template_schema = yaml.safe_load((SCHEMAS / "template.schema.yaml").read_text("utf-8"))
    tables = {
        "@config_table@": table(config_rows(config_schema)),
        "@dataset_table@": table(rows(config_schema["$defs"]["dataset"], config_schema)),
        "@template_table@": table(rows(template_schema, template_schema)),
    }
    lines = TEMPLATE.read_text("utf-8").split("\n")
    for marker in tables:
        if lines.count(marker) != 1:
            raise SystemExit(f"{TEMPLATE}: needs the line {marker} exactly once")
    return NOTICE + "\n".join(tables.get(line, line) for line in lines)


def main():
    OUTPUT.write_text(render(), "utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
