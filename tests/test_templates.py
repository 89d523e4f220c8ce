import pytest

from synthdet import templates
from synthdet.errors import ConfigError
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
        ({"classes": {"dog": ["st. bernard"]}}, "classes.dog.0", "does not match"),
        ({"classes": {"dog": ["what?"]}}, "classes.dog.0", "does not match"),
        ({"classes": {"a\nb": ["x"]}}, "classes", "is not allowed"),
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
