"""config/README.md is written by tools/config_doc.py from the schemas: the two never differ."""

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    spec = importlib.util.spec_from_file_location("config_doc", ROOT / "tools" / "config_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


config_doc = load_tool()


def test_config_readme_is_what_the_schemas_generate():
    written = (ROOT / "config" / "README.md").read_text("utf-8")
    assert written == config_doc.render(), (
        "config/README.md differs from what tools/config_doc.py writes from the schemas' "
        "descriptions: edit workflow/schemas/*.schema.yaml or tools/config_doc.md (not the "
        "README) and run `make config-doc`"
    )


def test_every_described_setting_of_a_dataset_has_its_row_with_default():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text("utf-8"))
    rows = {
        key: (default, meaning)
        for key, default, meaning in config_doc.rows(schema["$defs"]["dataset"], schema)
    }
    # Reached through $refs: augment and labeling live in $defs.
    assert rows["augment.model"][0] == "required"
    assert rows["augment.base_url_env"][0] == "`OPENAI_BASE_URL`"
    assert rows["labeling.thresholds.box_threshold"] == (
        "`0.35`",
        "CPU stage; at least `candidate_floor`.",
    )
    assert rows["video2world"][0] == "absent"
    assert "labeling.video" not in rows  # an object without a description is only its keys


def test_a_description_with_a_pipe_or_a_docs_path_stays_one_table_cell():
    cell = config_doc.meaning_cell({"description": "a | b, see\n  docs/augmentation.md."})
    assert cell == "a \\| b, see [docs/augmentation.md](../docs/augmentation.md)."


def test_a_template_without_its_table_marker_is_refused(tmp_path, monkeypatch):
    template = tmp_path / "config_doc.md"
    template.write_text("# Configuration reference\n\n@config_table@\n", "utf-8")
    monkeypatch.setattr(config_doc, "TEMPLATE", template)
    with pytest.raises(SystemExit, match="@dataset_table@"):
        config_doc.render()


def test_the_allowed_values_are_listed_unless_the_description_names_them():
    listed = config_doc.meaning_cell({"description": "Model size.", "enum": ["2B", "14B"]})
    named = config_doc.meaning_cell({"description": "`max` or `mean`.", "enum": ["max", "mean"]})
    assert (listed, named) == ("Model size. One of `2B`, `14B`.", "`max` or `mean`.")
