import pytest

from synthdet.core.errors import ConfigError
from synthdet.setup.config import checked_config, seeds
from conftest import DEMO_TEMPLATE, small_dataset, write_yaml


@pytest.fixture
def in_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "config" / "prompts" / "small.yaml", DEMO_TEMPLATE)
    return tmp_path


def test_defaults_are_filled(in_project):
    config, templates = checked_config({"datasets": {"d": small_dataset()}}, "c.yaml")
    dataset = config["datasets"]["d"]
    assert dataset["text2image"] == {
        "model_size": "2B",
        "aspect_ratio": "16:9",
        "disable_guardrail": False,
        "offload_guardrail": False,
    }
    assert dataset["video2world"]["resolution"] == 720
    assert dataset["images"] is True
    assert config["cosmos"]["python"] == ["python"]
    assert config["max_prompts"] == 100000
    assert templates["d"]["classes"]["can"] == ["soda can"]


def test_seeds_count_or_list():
    assert seeds({"seeds": 3}) == [0, 1, 2]
    assert seeds({"seeds": [7, 42]}) == [7, 42]


@pytest.mark.parametrize(
    "dataset, key, problem",
    [
        (small_dataset(colour="red"), "datasets.d", "unknown key 'colour'"),
        (
            small_dataset(seeds="three"),
            "datasets.d.seeds",
            "'three' is not valid: expected A count N",
        ),
        (small_dataset(seeds=[1, 1]), "datasets.d.seeds", "is not valid: expected A count N"),
        (
            small_dataset(generator="dalle"),
            "datasets.d.generator",
            "is not one of ['cosmos', 'procedural']",
        ),
        (
            small_dataset(template="config/prompts/missing.yaml"),
            "datasets.d.template",
            "does not exist",
        ),
        (
            small_dataset(text2image={"aspect_ratio": "2:1"}),
            "datasets.d.text2image.aspect_ratio",
            "is not one of",
        ),
        (
            small_dataset(video2world={"fps": 24}),
            "datasets.d.video2world.fps",
            "is not one of [10, 16]",
        ),
        (small_dataset(procedural={"width": 100}), "datasets.d.procedural.width", "multiple of 16"),
        (
            small_dataset(frames={"fps": 0}),
            "datasets.d.frames.fps",
            "less than or equal to the minimum",
        ),
        (
            {k: v for k, v in small_dataset().items() if k != "generator"},
            "datasets.d",
            "'generator' is required",
        ),
        (
            {**small_dataset(images=False), "video2world": None},
            "datasets.d.video2world",
            "is not of type 'object'",
        ),
        (
            small_dataset(labeling={"thresholds": {"box_threshold": 1.5}}),
            "datasets.d.labeling.thresholds.box_threshold",
            "greater than the maximum of 1",
        ),
        (
            small_dataset(
                labeling={"thresholds": {"per_class": {"can": {"text_threshold": -0.1}}}}
            ),
            "datasets.d.labeling.thresholds.per_class.can.text_threshold",
            "less than the minimum of 0",
        ),
        (
            small_dataset(labeling={"candidate_floor": 2}),
            "datasets.d.labeling.candidate_floor",
            "greater than the maximum of 1",
        ),
        (
            small_dataset(labeling={"video": {"match_iou": 0}}),
            "datasets.d.labeling.video.match_iou",
            "less than or equal to the minimum of 0",
        ),
        (
            small_dataset(labeling={"video": {"duplicate_iou": 0}}),
            "datasets.d.labeling.video.duplicate_iou",
            "less than or equal to the minimum of 0",
        ),
        (
            small_dataset(labeling={"video": {"propagator": "perfect"}}),
            "datasets.d.labeling.video.propagator",
            "is not one of ['sam2', 'procedural_stand_in']",
        ),
    ],
)
@pytest.mark.fault("config: schema violation in a dataset")
def test_bad_dataset_names_file_and_key(in_project, dataset, key, problem):
    with pytest.raises(ConfigError) as caught:
        checked_config({"datasets": {"d": dataset}}, "c.yaml")
    message = str(caught.value)
    assert message.startswith(f"c.yaml: {key}: "), message
    assert problem in message


@pytest.mark.fault("config: dataset that would be empty")
def test_empty_dataset_is_refused(in_project):
    dataset = {k: v for k, v in small_dataset(images=False).items() if k != "video2world"}
    with pytest.raises(
        ConfigError, match="c.yaml: datasets.d.images: is false and there is no video2world"
    ):
        checked_config({"datasets": {"d": dataset}}, "c.yaml")


@pytest.mark.parametrize("name", ["a/b", "..", "../x", "with space", "-dash", "", "hx\n"])
@pytest.mark.fault("config: dataset name with / or ..")
def test_unsafe_dataset_names_are_refused(in_project, name):
    with pytest.raises(ConfigError, match="c.yaml: datasets: name .* is not allowed"):
        checked_config({"datasets": {name: small_dataset()}}, "c.yaml")


def test_unknown_top_level_key_and_bad_cosmos_site(in_project):
    with pytest.raises(ConfigError, match=r"c.yaml: \(top level\): unknown key 'dataset'"):
        checked_config({"dataset": {}, "datasets": {"d": small_dataset()}}, "c.yaml")
    with pytest.raises(ConfigError, match="c.yaml: cosmos.python: .* is not of type 'array'"):
        checked_config(
            {"cosmos": {"python": "python"}, "datasets": {"d": small_dataset()}}, "c.yaml"
        )


@pytest.mark.fault("config: thresholds below the GPU floor or naming no class")
def test_thresholds_must_fit_the_floor_and_the_classes(in_project):
    below = small_dataset(labeling={"candidate_floor": 0.3, "thresholds": {"box_threshold": 0.2}})
    with pytest.raises(
        ConfigError,
        match="labeling.thresholds.box_threshold: 0.2 is below labeling.candidate_floor",
    ):
        checked_config({"datasets": {"d": below}}, "c.yaml")
    unknown = small_dataset(labeling={"thresholds": {"per_class": {"cat": {"box_threshold": 0.5}}}})
    with pytest.raises(ConfigError, match="per_class.cat: no such class"):
        checked_config({"datasets": {"d": unknown}}, "c.yaml")


@pytest.mark.fault("config: the procedural stand-in propagator on a Cosmos dataset")
def test_the_stand_in_propagator_is_for_procedural_datasets_only(in_project):
    config, _ = checked_config({"datasets": {"d": small_dataset()}}, "c.yaml")
    assert config["datasets"]["d"]["labeling"]["video"]["propagator"] == "sam2"
    labeling = {"video": {"propagator": "procedural_stand_in"}}
    checked_config({"datasets": {"d": small_dataset(labeling=labeling)}}, "c.yaml")
    cosmos = small_dataset(generator="cosmos", labeling=labeling)
    with pytest.raises(ConfigError) as caught:
        checked_config({"datasets": {"d": cosmos}}, "c.yaml")
    assert str(caught.value).startswith(
        "c.yaml: datasets.d.labeling.video.propagator: procedural_stand_in moves masks with "
        "the procedural generator's known motion, and this dataset's generator is 'cosmos'"
    )


def long_ontology(in_project, phrases):
    classes = {f"c{index}": [phrase] for index, phrase in enumerate(phrases)}
    write_yaml(
        in_project / "config" / "prompts" / "long.yaml", {**DEMO_TEMPLATE, "classes": classes}
    )
    return "config/prompts/long.yaml"


def test_a_caption_over_256_tokens_is_refused_naming_the_phrase(in_project):
    # Two words a phrase, then " .": phrase 84 ends at token 254, the last one kept.
    template = long_ontology(in_project, [f"word{i} thing" for i in range(120)])
    for labeling in ({"smoke_models": True}, {"smoke_models": False}):  # no tokenizer here
        dataset = small_dataset(template=template, labeling=labeling)
        expected = (
            "long.yaml: classes: .* 362 tokens at least, .* overflows at phrase 'word85 thing'"
        )
        with pytest.raises(ConfigError, match=expected):
            checked_config({"datasets": {"d": dataset}}, "c.yaml")
    fits = long_ontology(in_project, [f"word{i} thing" for i in range(84)])
    checked_config({"datasets": {"d": small_dataset(template=fits)}}, "c.yaml")


@pytest.mark.parametrize(
    "backend, key", [("groundingdino", "text_encoder"), ("transformers", "model_dir")]
)
def test_the_configured_tokenizer_counts_exactly(in_project, backend, key):
    from synthdet.label.smoke_models import build_text_encoder

    folder = build_text_encoder(in_project / "bert")  # a tiny vocabulary: letters are pieces
    letters = "bcdfghjklmnpqrstvwxz"
    # 60 four-letter nonsense words: 2 tokens each at least, 5 (4 pieces and ".") here,
    # so phrase 51 (hcqy) is the first past token 254
    template = long_ontology(in_project, [f"{a}{b}qy" for a in letters[:6] for b in letters[:10]])
    models = {"detector": {"backend": backend, key: folder}}
    config = {"models": models, "datasets": {"d": small_dataset(template=template, labeling={})}}
    with pytest.raises(ConfigError, match=r"302 tokens, above .* overflows at phrase 'hcqy'"):
        checked_config(config, "c.yaml")
    models["detector"][key] = str(in_project / "elsewhere")  # only on the GPU nodes: lower bound
    checked_config(config, "c.yaml")


SECRET = "OPENAI_API_KEY=sk-live-0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("where", ["../outside.yaml", "/ABS/outside.yaml", "config/link.yaml"])
@pytest.mark.fault("config: a template path that leads out of the project")
def test_a_template_outside_the_project_is_refused_before_it_is_read(in_project, where):
    outside = in_project.parent / "outside.yaml"
    outside.write_text(SECRET + "\n")
    (in_project / "config" / "link.yaml").symlink_to(outside)
    where = where.replace("/ABS", str(in_project.parent))
    with pytest.raises(ConfigError) as caught:
        checked_config({"datasets": {"d": small_dataset(template=where)}}, "c.yaml")
    message = str(caught.value)
    assert message.startswith("c.yaml: datasets.d.template: "), message
    assert "outside the project folder" in message and "sk-live" not in message


@pytest.mark.fault("config: a dotenv file or other non-template named as the template")
def test_a_dotenv_file_named_as_template_is_refused_unread(in_project):
    (in_project / ".env").write_text(SECRET + "\n")
    with pytest.raises(ConfigError, match=r"^c.yaml: datasets.d.template: '.env' is not a \.yaml"):
        checked_config({"datasets": {"d": small_dataset(template=".env")}}, "c.yaml")


@pytest.mark.parametrize(
    "content",
    [SECRET + "\n", f"a: b\n{SECRET}: c: d\n", f"template: {{{SECRET}: 1}}\n", "\x00" + SECRET],
)
def test_template_errors_echo_at_most_a_short_excerpt(in_project, content):
    (in_project / "config" / "prompts" / "odd.yaml").write_text(content)
    dataset = small_dataset(template="config/prompts/odd.yaml")
    with pytest.raises(ConfigError) as caught:
        checked_config({"datasets": {"d": dataset}}, "c.yaml")
    message = str(caught.value)
    assert message.startswith("config/prompts/odd.yaml: "), message
    assert "cdef0123456789abcdef" not in message, message  # the tail of the key


# Issue 16, finding 5: jsonschema matches patterns with re.search, where `$` also
# matches before a trailing newline.
def test_name_patterns_refuse_a_trailing_newline(in_project):
    with pytest.raises(ConfigError, match="edge_impulse.api_key_env: 'EI_KEY\\\\n' does not match"):
        checked_config(
            {"edge_impulse": {"api_key_env": "EI_KEY\n"}, "datasets": {"d": small_dataset()}},
            "c.yaml",
        )


@pytest.mark.parametrize("key", [1, True, None, 0.5])
@pytest.mark.fault("config: a YAML key that loads as a number or boolean")
def test_config_keys_that_are_not_text_are_refused(in_project, key):
    per_class = {key: {"box_threshold": 0.5}}
    dataset = small_dataset(labeling={"thresholds": {"per_class": per_class}})
    with pytest.raises(ConfigError) as caught:
        checked_config({"datasets": {"d": dataset}}, "c.yaml")
    assert str(caught.value).startswith(
        f"c.yaml: datasets.d.labeling.thresholds.per_class.{key!r}: this key is not text"
    ), str(caught.value)
