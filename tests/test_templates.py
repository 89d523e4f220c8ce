import json

import pytest

from synthdet.core.errors import ConfigError
from synthdet.setup import templates
from conftest import DEMO_TEMPLATE, write_yaml


def test_full_grid_renders_every_combination_once():
    prompts = templates.expand(DEMO_TEMPLATE, "t.yaml")
    assert [p["prompt"] for p in prompts] == [
        "two soda cans and a worker on a belt",
        "two soda cans and a forklift on a belt",
        "three soda cans and a worker on a belt",
        "three soda cans and a forklift on a belt",
    ]
    assert prompts[0]["video_prompt"] == "two soda cans roll past a worker"
    assert prompts[1]["values"] == {"count": "two", "who": "forklift"}


def test_ids_are_stable_when_the_grid_grows():
    before = {p["prompt"]: p["id"] for p in templates.expand(DEMO_TEMPLATE, "t")}
    grown = {
        **DEMO_TEMPLATE,
        "variables": {**DEMO_TEMPLATE["variables"], "count": ["one", "two", "three"]},
    }
    after = {p["prompt"]: p["id"] for p in templates.expand(grown, "t")}
    assert len(after) == 6
    for prompt, pid in before.items():
        assert after[prompt] == pid


def test_ids_are_hex_and_cannot_spell_a_split():
    for p in templates.expand(DEMO_TEMPLATE, "t"):
        assert p["id"].startswith("p") and len(p["id"]) == 13
        int(p["id"][1:], 16)


def test_sample_is_deterministic_and_within_the_grid():
    template = {
        **DEMO_TEMPLATE,
        "variables": {"count": [str(i) for i in range(50)], "who": [f"w{i}" for i in range(40)]},
        "sample": {"count": 30, "seed": 3},
    }
    first = templates.expand(template, "t")
    again = templates.expand(template, "t")
    assert [p["id"] for p in first] == [p["id"] for p in again]
    assert len({p["id"] for p in first}) == 30
    other_seed = templates.expand({**template, "sample": {"count": 30, "seed": 4}}, "t")
    assert {p["id"] for p in other_seed} != {p["id"] for p in first}


def test_sample_of_a_huge_grid_does_not_build_the_grid():
    template = {
        "template": "{a} {b} {c} {d}",
        "variables": {k: [f"{k}{i}" for i in range(1000)] for k in "abcd"},  # 1e12 combinations
        "sample": {"count": 5, "seed": 0},
        "classes": {"x": ["x"]},
    }
    assert len(templates.expand(template, "t")) == 5


def test_combination_decodes_mixed_radix():
    variables = {"a": [0, 1], "b": ["x", "y", "z"]}
    assert [templates.combination(variables, i) for i in (0, 1, 3, 5)] == [
        {"a": 0, "b": "x"},
        {"a": 0, "b": "y"},
        {"a": 1, "b": "x"},
        {"a": 1, "b": "z"},
    ]


@pytest.mark.fault("template: grid above max_prompts")
def test_grid_above_max_prompts_is_refused_naming_the_file():
    with pytest.raises(
        ConfigError,
        match=r"t\.yaml: variables: the full grid has 4 combinations, above max_prompts \(3\)",
    ):
        templates.check_size(DEMO_TEMPLATE, 3, "t.yaml")
    templates.check_size(DEMO_TEMPLATE, 4, "t.yaml")


def test_sample_larger_than_grid_or_max_is_refused():
    with pytest.raises(ConfigError, match="sample.count: 9 is more than the 4"):
        templates.check_size({**DEMO_TEMPLATE, "sample": {"count": 9, "seed": 0}}, 100, "t")
    with pytest.raises(ConfigError, match=r"sample.count: 3 is above max_prompts \(2\)"):
        templates.check_size({**DEMO_TEMPLATE, "sample": {"count": 3, "seed": 0}}, 2, "t")


@pytest.mark.parametrize(
    "change, key, problem",
    [
        ({"template": "{count} cans {missing}"}, "variables.missing", "placeholder has no values"),
        ({"video_template": "{nope}"}, "variables.nope", "placeholder has no values"),
        ({"template": "{count} cans"}, "variables.who", "not used by `template`"),
        ({"template": "{count.real} cans {who}"}, "template", "not a plain name"),
        ({"template": "{} cans {who} {count}"}, "template", "not a plain name"),
        ({"template": "{count cans {who}"}, "template", "bad placeholder syntax"),
        ({"template": "{count!r} cans {who}"}, "template", "'{count!r}' is not a plain name"),
        ({"template": "{count:x} cans {who}"}, "template", "'{count:x}' is not a plain name"),
        ({"template": "{count!s:>9} {who}"}, "template", "'{count!s:>9}' is not a plain name"),
        ({"video_template": "{who!a} rolls"}, "video_template", "'{who!a}' is not a plain"),
        (
            {"variables": {"count": ["a", "a"], "who": ["w"]}},
            "variables.count",
            "lists a value twice",
        ),
        ({"variables": {"count": [], "who": ["w"]}}, "variables.count", "should be non-empty"),
        ({"classes": {}}, "classes", "should be non-empty"),
        (
            {"classes": {"can": ["can"], "tin": ["Can"]}},
            "classes.tin",
            "also belongs to class 'can'",
        ),
        (
            {"classes": {"can": ["soda can"], "tin": ["Soda  can "]}},
            "classes.tin",
            "also belongs to class 'can'",
        ),
        ({"classes": {"dog": ["st. bernard"]}}, "classes.dog.0", "holds '.' or '?'"),
        ({"classes": {"dog": ["what?"]}}, "classes.dog.0", "holds '.' or '?'"),
        ({"classes": {"a\nb": ["x"]}}, "classes", "U+000A at position 1 is a control"),
        ({"sample": {"count": 0, "seed": 1}}, "sample.count", "less than the minimum"),
        ({"colour": "red"}, "(top level)", "unknown key 'colour'"),
        ({"template": 5}, "template", "is not of type 'string'"),
    ],
)
@pytest.mark.fault("template: schema violation or bad placeholder")
def test_bad_template_names_file_and_key(tmp_path, change, key, problem):
    path = write_yaml(tmp_path / "bad.yaml", {**DEMO_TEMPLATE, **change})
    with pytest.raises(ConfigError) as caught:
        templates.load_template(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert problem in message


def test_missing_and_invalid_yaml_template(tmp_path):
    with pytest.raises(ConfigError, match="prompt template file not found"):
        templates.load_template(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("template: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        templates.load_template(bad)


@pytest.mark.fault("template: quotes, $(), backticks, non-ASCII in prompts")
def test_literal_braces_and_hostile_text_pass_through_unchanged():
    template = {
        "template": 'say "{x}" {{json}} $(rm -rf /) `id` café',
        "variables": {"x": ["a'b", "ü & <c>"]},
        "classes": {"c": ["c"]},
    }
    prompts = templates.expand(template, "t")
    assert prompts[0]["prompt"] == 'say "a\'b" {json} $(rm -rf /) `id` café'
    assert prompts[1]["prompt"] == 'say "ü & <c>" {json} $(rm -rf /) `id` café'


# Finding 5 of issue 16: the schema's `$` let a trailing newline through (re.search);
# finding 4 and 3: lone surrogates and non-characters passed, then broke XML and UTF-8.
@pytest.mark.parametrize(
    "classes, key, problem",
    [
        ({"can\n": ["can"]}, "classes", "U+000A at position 3 is a control character"),
        ({"can": ["soda can\n"]}, "classes.can.0", "U+000A at position 8"),
        ({"can\ufffe": ["can"]}, "classes", "U+FFFE at position 3 is a Unicode non-character"),
        ({"can\uffff": ["can"]}, "classes", "U+FFFF at position 3 is a Unicode non-character"),
        ({"can\ud800": ["can"]}, "classes", "U+D800 at position 3 is a lone surrogate"),
        ({"can\u2028": ["can"]}, "classes", "U+2028 at position 3 is a line separator"),
        ({"can\u2029x": ["can"]}, "classes", "U+2029 at position 3 is a paragraph separator"),
        ({"can": ["tin\x85"]}, "classes.can.0", "U+0085 at position 3 is a control"),
        ({"\u3000 ": ["can"]}, "classes", "is empty or only whitespace"),
        ({"can": ["x"], "Can": ["y"]}, "classes", "'can' and 'Can' read the same"),
        ({"caf\u00e9": ["x"], "cafe\u0301": ["y"]}, "classes", "read the same"),
        ({"can": ["soda can"], "tin": ["\uff33oda can"]}, "classes.tin", "also belongs"),
        ({"a:b": ["can"]}, "classes", "VOC's labelmap.txt"),
        ({"#can": ["can"]}, "classes", "VOC's labelmap.txt"),
        ({" can": ["can"]}, "classes", "VOC's labelmap.txt"),
    ],
)
@pytest.mark.fault("template: class name or phrase with a control, surrogate or non-character")
def test_class_names_and_phrases_follow_one_definition(tmp_path, classes, key, problem):
    path = tmp_path / "t.yaml"
    # JSON is YAML: its \u escapes carry surrogates and non-characters into the file.
    path.write_text(json.dumps({**DEMO_TEMPLATE, "classes": classes}))
    with pytest.raises(ConfigError) as caught:
        templates.load_template(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert problem in message
    assert message.isprintable(), "the message shows refused characters escaped"


@pytest.mark.parametrize(
    "classes_yaml, key, problem",
    [
        ("  1: [one]\n  yes: [yes]\n", "classes.1", "key '1' on line 5 is not text to YAML"),
        ("  can: [can]\n  null: [x]\n", "classes.null", "is not text to YAML"),
        ("  can: [can]\n  can: [tin]\n", "classes.can", "key given twice (line 6)"),
    ],
)
@pytest.mark.fault("template: YAML keys that load as numbers or booleans merge classes")
def test_yaml_keys_that_are_not_text_or_repeat_are_refused(tmp_path, classes_yaml, key, problem):
    path = tmp_path / "t.yaml"
    path.write_text(
        "template: '{count} cans'\nvariables:\n  count: [two]\nclasses:\n" + classes_yaml
    )
    with pytest.raises(ConfigError) as caught:
        templates.load_template(path)
    assert str(caught.value).startswith(f"{path}: {key}: "), str(caught.value)
    assert problem in str(caught.value)


@pytest.mark.parametrize("where", ["template", "negative_prompt", "variables"])
def test_prompt_texts_that_utf8_cannot_hold_are_refused(tmp_path, where):
    template = {**DEMO_TEMPLATE, "template": "{count} cans {who}"}
    bad = "cans \ud800"
    if where == "variables":
        template["variables"] = {**DEMO_TEMPLATE["variables"], "who": ["worker", bad]}
        key = "variables.who.1"
    else:
        template[where] = bad + (" {count} {who}" if where == "template" else "")
        key = where
    path = tmp_path / "t.yaml"
    path.write_text(json.dumps(template))
    with pytest.raises(ConfigError, match=f"t.yaml: {key}: .*U\\+D800 .* lone surrogate"):
        templates.load_template(path)


def test_prompt_texts_keep_line_breaks_and_any_printable_text(tmp_path):
    template = {**DEMO_TEMPLATE, "template": "{count} cans {who}\n\t\u2028 \U0001f600"}
    path = write_yaml(tmp_path / "t.yaml", template)
    assert templates.load_template(path)["template"] == template["template"]
