"""LLM-augmented prompts: answer checks, the openai client against a stand-in endpoint on
127.0.0.1 (tests/fake_llm), and the workflow run end to end with augmentation on."""

import json
import time

import pytest

from conftest import DEMO_TEMPLATE, ROOT, small_dataset
from fake_llm import FakeLLM
from synthdet.core.errors import ConfigError
from synthdet.setup import augment
from synthdet.setup.augment import AugmentError, BadAnswer
from synthdet.setup.config import checked_config
from synthdet.setup.templates import expand, prompt_id
from support.runs import job_counts

REQUEST = {
    "model": "m",
    "instruction": "find cans",
    "variations": 2,
    "phrases": ["forklift", "soda can", "worker"],
}
KEY = "sk-standin-secret-0123456789"
PROMPTS = [{"id": "p1", "prompt": "two soda cans"}, {"id": "p2", "prompt": "a worker"}]


def answer(*items):
    return json.dumps(list(items))


# --- answer checks --------------------------------------------------------------------


def test_a_good_answer_is_stripped_and_kept_in_order():
    content = "```json\n" + answer(" Two soda cans at dusk ", "a worker with soda cans") + "\n```"
    assert augment.parse_answer(content, REQUEST) == [
        "Two soda cans at dusk",
        "a worker with soda cans",
    ]


@pytest.mark.parametrize(
    "content, reason",
    [
        ("", "empty"),
        ('["a soda can", ', "not valid JSON"),
        ('{"a": "soda can"}', "JSON array of strings"),
        ('["a soda can", 3]', "JSON array of strings"),
        (answer("a soda can"), "has 1 strings, not 2"),
        (answer("a soda can", "a soda can", "a worker"), "has 3 strings, not 2"),
        (answer("A  Soda can", "a soda CAN"), "repeats another variation"),
        (answer("a soda can", "a candle on a belt"), "names none of the objects"),
        (answer("a soda can", "a\nworker"), "control character"),
        (answer("a soda can", "   "), "string 2 is empty"),
    ],
)
def test_bad_answers_are_refused_with_a_reason(content, reason):
    with pytest.raises(BadAnswer, match=reason):
        augment.parse_answer(content, REQUEST)


def test_plurals_count_and_the_phrase_check_can_be_switched_off():
    assert augment.parse_answer(answer("forklifts", "three Workers"), REQUEST)
    free = {**REQUEST, "phrases": None}
    assert augment.parse_answer(answer("a sunset", "a harbour"), free) == ["a sunset", "a harbour"]


def test_variations_repeating_an_earlier_template_prompt_are_refused():
    with pytest.raises(BadAnswer, match="repeats"):
        augment.parse_answer(answer("a worker", "a soda can"), REQUEST, taken={"a soda can"})


def test_request_names_every_phrase_once_normalized():
    settings = {"model": "m", "instruction": "i", "variations": 3, "require_phrase": True}
    classes = {"can": ["Soda  can", "drink can"], "person": ["worker"]}
    request = augment.request_settings(settings, classes)
    assert request["phrases"] == ["drink can", "soda can", "worker"]
    off = augment.request_settings({**settings, "require_phrase": False}, classes)
    assert off["phrases"] is None


# --- prompts from the record ----------------------------------------------------------


def test_variations_replace_each_template_prompt_with_stable_ids():
    template = {**DEMO_TEMPLATE, "variables": {"count": ["two"], "who": ["worker"]}}
    prompts = expand(template, "t")
    record = {"prompts": [{"id": prompts[0]["id"], "variations": ["v soda can", "w soda can"]}]}
    result = augment.augmented_prompts(prompts, record, True, "augmented.json")
    assert [p["id"] for p in result] == [prompt_id("v soda can"), prompt_id("w soda can")]
    assert {p["video_prompt"] for p in result} == {"two soda cans roll past a worker"}
    assert all(p["source"] == prompts[0]["id"] for p in result)
    without_video = augment.augmented_prompts(prompts, record, False, "augmented.json")
    assert [p["video_prompt"] for p in without_video] == ["v soda can", "w soda can"]


def test_a_record_made_for_other_template_prompts_is_refused():
    prompts = expand(DEMO_TEMPLATE, "t")
    with pytest.raises(AugmentError, match="augmented.json was made for other template"):
        augment.augmented_prompts(prompts, {"prompts": []}, True, "augmented.json")


# --- config -----------------------------------------------------------------------------


def config_with(tmp_path, monkeypatch, augment_block, max_prompts=100):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.yaml").write_text(json.dumps(DEMO_TEMPLATE))
    dataset = small_dataset(template="t.yaml", augment=augment_block)
    return checked_config({"max_prompts": max_prompts, "datasets": {"a": dataset}}, "c.yaml")


def test_config_fills_augment_defaults(tmp_path, monkeypatch):
    config, _ = config_with(
        tmp_path, monkeypatch, {"model": "m", "instruction": "i", "variations": 3}
    )
    assert config["datasets"]["a"]["augment"] == {
        "model": "m",
        "instruction": "i",
        "variations": 3,
        "require_phrase": True,
        "base_url_env": "OPENAI_BASE_URL",
        "api_key_env": "OPENAI_API_KEY",
        "retries": 2,
        "timeout": 120,
    }


@pytest.mark.fault("augment: bad augment config stops the run naming the key")
@pytest.mark.parametrize(
    "block, message",
    [
        (
            {"model": "m", "instruction": "i", "variations": 30},
            "datasets.a.augment.variations: 30 per template prompt make 120 prompts",
        ),
        (
            {"model": "m", "instruction": "i", "variations": 2, "api_key": "sk-x"},
            "datasets.a.augment: unknown key 'api_key'",
        ),
        (
            {"model": "m", "instruction": "i", "variations": 2, "api_key_env": "$(id)"},
            "datasets.a.augment.api_key_env",
        ),
    ],
)
def test_bad_augment_config_names_the_key(tmp_path, monkeypatch, block, message):
    with pytest.raises(ConfigError, match=message.replace("$", r"\$").replace("(", r"\(")):
        config_with(tmp_path, monkeypatch, block)


# --- the openai client against the stand-in endpoint ------------------------------------


@pytest.fixture
def llm(monkeypatch):
    # A proxy from the environment must not carry loopback requests elsewhere.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeLLM() as server:
        yield server


def asker(llm, timeout=5.0, retries=1):
    return augment.chat_asker("standin-model", llm.base_url, KEY, timeout, retries)


def test_normal_answers_through_the_openai_client(llm):
    record = augment.augment(PROMPTS, REQUEST, asker(llm), retries=1)
    assert [r["variations"] for r in record["prompts"]] == [
        ["two soda cans, variation 1", "two soda cans, variation 2"],
        ["a worker, variation 1", "a worker, variation 2"],
    ]
    assert len(llm.requests) == 2
    sent = llm.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["model"] == "standin-model"
    assert sent["headers"]["authorization"] == f"Bearer {KEY}"
    assert "What the detector is for: find cans" in sent["messages"][1]["content"]


@pytest.mark.fault("augment: malformed JSON answer, asked again with the reason")
def test_a_bad_answer_is_asked_again_with_the_reason(llm):
    llm.then('["two soda cans at night", ')
    record = augment.augment(PROMPTS[:1], REQUEST, asker(llm), retries=1)
    assert record["prompts"][0]["answers"] == 2
    retry = llm.requests[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": '["two soda cans at night", '}
    assert retry[-1]["content"].startswith("Rejected: the answer is not valid JSON")


@pytest.mark.fault("augment: wrong-length, duplicate and phrase-less answers until retries end")
@pytest.mark.parametrize(
    "bad, reason",
    [
        (answer("a soda can"), "has 1 strings, not 2"),
        (answer("a soda can", "A soda can"), "repeats another variation"),
        (answer("a soda can", "an empty hall"), "names none of the objects"),
    ],
)
def test_answers_rejected_every_time_fail_with_every_answer_logged(llm, caplog, bad, reason):
    for _ in range(3):
        llm.then(bad)
    with pytest.raises(AugmentError, match=f"3 answers .* rejected, the last because .*{reason}"):
        augment.augment(PROMPTS[:1], REQUEST, asker(llm), retries=2)
    assert len(llm.requests) == 3
    assert [r.getMessage().count(bad) for r in caplog.records if "rejected" in r.getMessage()] == [
        1,
        1,
        1,
    ]


@pytest.mark.fault("augment: 429 with Retry-After, waited for and retried by the client")
def test_rate_limit_waits_as_retry_after_says(llm):
    llm.then(status=429, headers={"Retry-After": "1"})
    start = time.monotonic()
    record = augment.augment(PROMPTS[:1], REQUEST, asker(llm), retries=1)
    # The client's own backoff would be at most 0.5 s: a full second is Retry-After's.
    assert time.monotonic() - start >= 1.0
    assert len(record["prompts"][0]["variations"]) == 2 and len(llm.requests) == 2


@pytest.mark.fault("augment: endpoint rate-limits every request")
def test_rate_limit_that_never_ends_fails_clearly(llm):
    for _ in range(2):
        llm.then(status=429, headers={"Retry-After-Ms": "10"})
    with pytest.raises(AugmentError, match="kept answering 429"):
        augment.augment(PROMPTS[:1], REQUEST, asker(llm), retries=1)


@pytest.mark.fault("augment: slow answer times out, the retry succeeds")
def test_a_slow_answer_times_out_and_is_retried(llm):
    llm.then(delay=1.5)
    record = augment.augment(PROMPTS[:1], REQUEST, asker(llm, timeout=0.5), retries=1)
    assert len(record["prompts"][0]["variations"]) == 2 and len(llm.requests) == 2


@pytest.mark.fault("augment: endpoint never answers in time")
def test_answers_that_are_always_slow_fail_naming_the_timeout(llm):
    llm.then(delay=1.0).then(delay=1.0)
    with pytest.raises(AugmentError, match=r"no answer within the timeout \(0.3 s\) in 2 attempts"):
        augment.augment(PROMPTS[:1], REQUEST, asker(llm, timeout=0.3), retries=1)


@pytest.mark.fault("augment: endpoint body that is not JSON")
def test_a_body_that_is_not_json_fails_clearly(llm):
    llm.then(body="<html>proxy error</html>")
    with pytest.raises(AugmentError, match="not a chat completion"):
        augment.augment(PROMPTS[:1], REQUEST, asker(llm, retries=0), retries=0)


@pytest.mark.fault("augment: refused API key, message without the key")
def test_a_refused_key_is_never_echoed(llm):
    llm.then(status=401, body=json.dumps({"error": {"message": f"bad key {KEY}"}}))
    with pytest.raises(AugmentError, match="refused the API key") as error:
        augment.augment(PROMPTS[:1], REQUEST, asker(llm), retries=1)
    assert KEY not in str(error.value)


@pytest.mark.fault("augment: no endpoint in the environment, or none reachable")
def test_missing_environment_and_unreachable_endpoint(llm):
    settings = {"base_url_env": "SYNTHDET_TEST_URL", "api_key_env": "SYNTHDET_TEST_KEY"}
    with pytest.raises(AugmentError, match=r"SYNTHDET_TEST_KEY is not set \(augment.api_key_env"):
        augment.endpoint(settings, {"SYNTHDET_TEST_URL": llm.base_url})
    closed = FakeLLM()
    closed.server.server_close()  # a port nobody listens on
    ask = augment.chat_asker("m", closed.base_url, KEY, 1.0, 0)
    with pytest.raises(AugmentError, match="could not connect .*1 attempt.*compute nodes"):
        augment.augment(PROMPTS[:1], REQUEST, ask, retries=0)


# --- the workflow -----------------------------------------------------------------------


def augmented_project(project, llm, **overrides):
    block = {
        "model": "standin-model",
        "instruction": "count cans on a line",
        "variations": 2,
        "base_url_env": "SYNTHDET_LLM_URL",
        "api_key_env": "SYNTHDET_LLM_KEY",
        "timeout": 10,
        **overrides,
    }
    config = {"datasets": {"a": small_dataset(seeds=1, augment=block)}}
    project.write_config(config)
    return config, env_of(llm)


def files_holding(folder, text):
    return [p for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


@pytest.mark.workflow
@pytest.mark.fault("augment: demo end to end with augmentation; no re-ask, key written nowhere")
def test_demo_with_augmentation_asks_once_and_reruns_when_the_request_changes(project, llm):
    config, env = augmented_project(project, llm)
    # Even the openai client's own debug logging must not bring the key into the log.
    _, output = project.snakemake(env={**env, "OPENAI_LOG": "debug"})
    prompts = json.loads(project.path("results/a/prompts.json").read_text())["prompts"]
    assert len(prompts) == 8 and len(llm.requests) == 4  # 4 template prompts x 2 variations
    assert all(p["id"] == prompt_id(p["prompt"]) for p in prompts)
    batch = json.loads(project.path("results/a/batches/text2image/seed0.json").read_text())
    assert [item["prompt"] for item in batch] == [p["prompt"] for p in prompts]
    assert '"made": 8' in project.path("results/a/summary.json").read_text()
    # Neither the key nor the URL is in any log, result, or Snakemake's records.
    assert KEY not in output and llm.base_url not in output
    assert files_holding(project.folder, KEY) == []
    assert files_holding(project.folder, llm.base_url) == []

    # A rerun never asks again, and planning needs no endpoint at all.
    _, output = project.snakemake("-n")
    assert "Nothing to be done" in output and len(llm.requests) == 4

    # What decides the answer replans the augmentation and everything after it.
    config["datasets"]["a"]["augment"]["instruction"] = "count cans at night"
    project.write_config(config)
    _, output = project.snakemake("-n", "--quiet", "rules")
    counts = job_counts(output)
    assert counts["augment_prompts"] == 1 and counts["expand_prompts"] == 1
    assert counts["text2image"] == 1 and counts["detect_images"] == 1
    assert counts["summarize_dataset"] == 1 and len(llm.requests) == 4

    # Where the endpoint is, and how patient to be, decide nothing.
    config["datasets"]["a"]["augment"].update(instruction="count cans on a line", timeout=5)
    config["datasets"]["a"]["augment"]["base_url_env"] = "ELSEWHERE"
    project.write_config(config)
    _, output = project.snakemake("-n")
    assert "Nothing to be done" in output


@pytest.mark.workflow
@pytest.mark.fault("augment: every answer rejected; the rule fails and nothing is trusted")
def test_rejected_answers_fail_the_rule_with_the_answers_in_its_log(project, llm):
    augmented_project(project, llm, retries=1)
    llm.then(answer("a soda can")).then(answer("a soda can"))
    code, output = project.snakemake("results/a/prompts.json", check=False, env=env_of(llm))
    assert code != 0
    assert "every answer is in logs/augment_prompts/a.log" in output
    log = project.path("logs/augment_prompts/a.log").read_text()
    assert log.count("has 1 strings, not 2") >= 2 and '["a soda can"]' in log
    assert not project.path("results/a/augmented.json").exists()
    assert not project.path("results/a/prompts.json").exists()
    assert KEY not in log


@pytest.mark.workflow
@pytest.mark.fault("augment: no endpoint variables set where the rule runs")
def test_missing_endpoint_variable_fails_naming_it(project, llm):
    augmented_project(project, llm)
    env = {**env_of(llm), "SYNTHDET_LLM_KEY": ""}
    code, output = project.snakemake("results/a/prompts.json", check=False, env=env)
    assert code != 0 and "SYNTHDET_LLM_KEY is not set" in output
    assert llm.requests == []


def env_of(llm):
    return {"SYNTHDET_LLM_URL": llm.base_url, "SYNTHDET_LLM_KEY": KEY, "NO_PROXY": "127.0.0.1"}


@pytest.mark.workflow
def test_with_the_slurm_executor_the_request_leaves_from_the_submitting_host(project, llm):
    # A localrule: on a cluster it runs where Snakemake runs (a login node, with network)
    # and with that shell's environment. No SLURM here: localrules never call sbatch.
    augmented_project(project, llm)
    _, output = project.snakemake(
        "results/a/prompts.json",
        "--profile",
        str(ROOT / "profiles" / "slurm"),
        "--sdm",
        "env-modules",
        "--slurm-init-seconds-before-status-checks",
        "1",
        env=env_of(llm),
    )
    assert "localrule augment_prompts:" in output and len(llm.requests) == 4
    assert project.path("results/a/prompts.json").exists()
