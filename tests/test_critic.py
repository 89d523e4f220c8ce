"""The vision-language critic: answer parsing, the content-keyed cache, retries and
concurrency against the stand-in endpoint tests/fake_vlm (not a model), the media critic's
manifests and the label validator's crops and modes, config and planning."""

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from conftest import DEMO_TEMPLATE, small_dataset
from fake_vlm import FakeVLM
from synthdet.core.errors import ConfigError
from synthdet.core.records import read_labels, read_manifest, write_labels, write_manifest
from synthdet.label import critic, label_validator, media_critic
from synthdet.label.critic import CriticError, Question, RetryableError, Tally, VerdictCache
from synthdet.report.summary import critic_counts, stage_counts
from synthdet.setup import plan
from synthdet.setup.config import checked_config

RULE = {"min_score": None, "unparsed": "keep"}


# --- answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        '{"verdict": "accept", "score": 0.8, "reason": "fine"}',
        '```json\n{"verdict": "ACCEPT", "score": 0.8, "reason": "fine"}\n```',
        'Sure. {"verdict": "accept", "score": 0.8, "reason": "fine"} Hope it helps.',
    ],
)
def test_a_verdict_is_read_bare_fenced_or_amid_prose(content):
    assert critic.parse_verdict(content) == {"verdict": "accept", "score": 0.8, "reason": "fine"}


@pytest.mark.parametrize(
    "content, why",
    [
        ("", "empty answer"),
        (None, "empty answer"),
        ("looks fine to me", "not JSON"),
        ('["accept"]', "not a JSON object"),
        ('{"verdict": "maybe", "score": 0.5}', "verdict is not accept or reject"),
        ('{"verdict": "accept", "score": 7}', "score is not a number from 0 to 1"),
        ('{"verdict": "accept", "score": "high"}', "score is not a number from 0 to 1"),
        ('{"verdict": "accept", "score": true}', "score is not a number from 0 to 1"),
    ],
)
@pytest.mark.fault("critic: an answer that is no verdict is recorded unparsed, never a pass")
def test_an_answer_that_is_no_verdict_is_unparsed_never_a_pass(content, why):
    verdict = critic.parse_verdict(content)
    assert verdict["verdict"] == "unparsed" and verdict["reason"].startswith(why)
    assert not critic.rejects(verdict, RULE)
    assert critic.rejects(verdict, {**RULE, "unparsed": "reject"})


def test_a_reason_is_one_clean_line_and_the_score_may_be_missing():
    verdict = critic.parse_verdict('{"verdict": "reject", "reason": "two\\ncans\\u0007 merged"}')
    assert verdict == {"verdict": "reject", "score": None, "reason": "two cans merged"}


def test_the_rule_rejects_rejections_and_low_scores_when_asked_to():
    low = {"verdict": "accept", "score": 0.3, "reason": ""}
    assert not critic.rejects(low, RULE)
    assert critic.rejects(low, {**RULE, "min_score": 0.5})
    assert critic.rejects({"verdict": "reject", "score": 0.9, "reason": ""}, RULE)


# --- the cache --------------------------------------------------------------------------


@pytest.mark.fault("critic: a torn cache entry is asked again")
def test_the_cache_keeps_answers_by_content_and_distrusts_broken_entries(tmp_path):
    cache = VerdictCache(tmp_path / "cache")
    one = Question({"image": "aa", "box": [1, 2, 3, 4], "class": "can"}, lambda: [])
    other = Question({"image": "aa", "box": [1, 2, 3, 5], "class": "can"}, lambda: [])
    assert one.digest() != other.digest()
    assert one.digest() == Question(dict(reversed(one.key.items())), list).digest()
    cache.put(one.digest(), {"verdict": "accept", "score": 1.0, "reason": ""})
    assert cache.get(one.digest())["verdict"] == "accept" and cache.get(other.digest()) is None
    assert [p.name for p in cache.path(one.digest()).parent.iterdir()] == [
        f"{one.digest()}.json"
    ]  # no temporary file left
    cache.path(one.digest()).write_text('{"verdict": "acc')  # a torn file from elsewhere
    assert cache.get(one.digest()) is None


# --- retries ----------------------------------------------------------------------------


def test_retry_after_in_seconds_or_as_a_date_else_backoff():
    assert critic.retry_wait("3", 0) == 3.0
    assert critic.retry_wait("Wed, 21 Oct 2015 07:28:05 GMT", 0, now=1445412480) == 5.0
    assert [critic.retry_wait(None, a) for a in range(3)] == [0.5, 1.0, 2.0]
    assert critic.retry_wait(None, 20) == 30.0


def test_retries_wait_as_told_and_give_up_after_the_last():
    waits, answers = [], iter([RetryableError("HTTP 429", 7.0), RetryableError("HTTP 503")])

    def send():
        error = next(answers, None)
        if error:
            raise error
        return "ok"

    tally = Tally()
    assert critic.with_retries(send, 2, tally, sleep=waits.append) == "ok"
    assert waits == [7.0, 1.0] and tally.requests == 3

    def always():
        raise RetryableError("HTTP 500")

    with pytest.raises(CriticError, match=r"HTTP 500 \(3 attempts\)"):
        critic.with_retries(always, 2, Tally(), sleep=waits.append)
    too_long = iter([RetryableError("HTTP 429", 600.0)])
    with pytest.raises(CriticError, match="Retry-After 600 s is too long"):
        critic.with_retries(lambda: (_ for _ in ()).throw(next(too_long)), 3, Tally())


# --- against the stand-in endpoint --------------------------------------------------------


@pytest.fixture
def no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def jpeg(size=(40, 30), colour="red"):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def questions(count, word="item"):
    image = jpeg()
    return [
        Question({"n": i, "word": word}, lambda i=i: critic.message_content(f"{word} {i}", [image]))
        for i in range(count)
    ]


def ask(vlm, items, cache, concurrency=4, retries=2, timeout=5.0):
    send = critic.chat_sender("standin", vlm.base_url, "key", timeout)
    return critic.ask_all(items, send, cache, concurrency, retries)


def test_answers_are_asked_concurrently_once_and_then_come_from_the_cache(tmp_path, no_proxy):
    cache = VerdictCache(tmp_path)
    with FakeVLM([{"when": "item 3", "answer": "reject"}], latency=0.05) as vlm:
        verdicts, tally = ask(vlm, questions(12), cache, concurrency=4)
        assert 2 <= vlm.most_in_flight <= 4
        assert [v["verdict"] for v in verdicts].count("reject") == 1
        assert verdicts[3]["reason"] == "stand-in rejects"
        assert (tally.requests, tally.answers, tally.cached) == (12, 12, 0)
        assert (tally.prompt_tokens, tally.completion_tokens) == (1200, 240)
        again, tally = ask(vlm, questions(12), cache)
        assert again == verdicts and tally.requests == 0 and tally.cached == 12
        assert len(vlm.requests) == 12 and vlm.problems == []
        assert vlm.requests[0]["sizes"] == [(40, 30)]


@pytest.mark.fault("critic: 429 with Retry-After, 500 and a malformed answer")
def test_429_with_retry_after_and_500_are_retried_and_malformed_is_recorded(tmp_path, no_proxy):
    script = [
        {"when": "item 0", "answer": "429", "times": 1},
        {"when": "item 1", "answer": "500", "times": 2},
        {"when": "item 2", "answer": "malformed"},
    ]
    with FakeVLM(script, retry_after="0") as vlm:
        verdicts, tally = ask(vlm, questions(3), VerdictCache(tmp_path), retries=2)
    assert [v["verdict"] for v in verdicts] == ["accept", "accept", "unparsed"]
    assert "not JSON" in verdicts[2]["reason"]
    assert tally.requests == 6 and tally.answers == 3


@pytest.mark.fault("critic: an answer slower than the timeout is asked again")
def test_a_slow_answer_times_out_and_is_retried(tmp_path, no_proxy):
    with FakeVLM([{"when": "item 0", "answer": "slow", "times": 1}], slow_seconds=0.8) as vlm:
        verdicts, tally = ask(vlm, questions(1), VerdictCache(tmp_path), timeout=0.3)
    assert verdicts[0]["verdict"] == "accept" and tally.requests == 2


@pytest.mark.fault("critic: an endpoint that keeps failing; the answers it gave are kept")
def test_an_endpoint_that_keeps_failing_fails_the_job_but_keeps_what_it_answered(
    tmp_path, no_proxy
):
    cache = VerdictCache(tmp_path)
    with FakeVLM([{"when": "item 1", "answer": "500", "times": 3}]) as vlm:
        with pytest.raises(CriticError, match=r"1 of 3 questions got no answer.*HTTP 500"):
            ask(vlm, questions(3), cache, retries=1)
        _, tally = ask(vlm, questions(3), cache, retries=3)  # the 500s run out: answered
    assert tally.cached == 2 and tally.answers == 1


def test_the_endpoint_comes_from_the_named_variables():
    settings = {"base_url_env": "CRITIC_URL", "api_key_env": "CRITIC_KEY"}
    assert critic.endpoint(settings, {"CRITIC_URL": "u", "CRITIC_KEY": "k"}) == ("u", "k")
    with pytest.raises(CriticError, match=r"CRITIC_KEY is not set \(critic.api_key_env"):
        critic.endpoint(settings, {"CRITIC_URL": "u"})


# --- the media critic ------------------------------------------------------------------


MEDIA_REQUEST = {
    "model": "standin",
    "prompt": media_critic.DEFAULT_PROMPT,
    "video_frames": 3,
    "rule": RULE,
}


def image_batch(tmp_path):
    items = []
    for n, prompt in enumerate(["two cans", "a forklift", "a worker"]):
        path = tmp_path / f"p{n}.jpg"
        Image.new("RGB", (64 + n, 48), "blue").save(path)
        items.append({"id": f"p{n}", "status": "made", "prompt": prompt, "path": str(path)})
    items.append({"id": "p9", "status": "blocked", "prompt": "x", "path": "", "reason": "guard"})
    manifest = {
        "stage": "text2image",
        "dataset": "a",
        "seed": 0,
        "generator": "procedural",
        "counts": {"made": 3, "blocked": 1, "failed": 0},
        "items": items,
    }
    write_manifest(tmp_path / "seed0.manifest.json", manifest)
    return tmp_path / "seed0.manifest.json"


def test_rejected_images_are_marked_rejected_with_the_reason(tmp_path, no_proxy):
    path = image_batch(tmp_path)
    script = [{"when": "forklift", "answer": "reject"}, {"when": "worker", "answer": "malformed"}]
    with FakeVLM(script) as vlm:
        ask_fn = critic.asker(
            critic.chat_sender("standin", vlm.base_url, "k", 5),
            tmp_path / "cache",
            {"concurrency": 2, "retries": 0},
        )
        out = tmp_path / "critic" / "seed0.manifest.json"
        result = media_critic.critique_batch(path, out, "images", MEDIA_REQUEST, ask_fn)
    assert sorted(r["sizes"][0] for r in vlm.requests) == [(64, 48), (65, 48), (66, 48)]
    assert result["counts"] == {"made": 2, "blocked": 1, "failed": 0, "rejected": 1}
    statuses = {item["id"]: (item["status"], item.get("reason")) for item in result["items"]}
    assert statuses["p1"] == ("rejected", "critic: stand-in rejects")
    assert statuses["p2"][0] == "made"  # unparsed, kept by the rule, recorded
    assert read_manifest(out)["items"][2]["critic"]["verdict"] == "unparsed"
    assert "critic" not in read_manifest(out)["items"][3]  # blocked: never asked
    counts = critic_counts({"images": [str(out)]}, [])["media"]["images"]
    assert counts["rejected"] == 1 and counts["unparsed"] == 1
    assert counts["reasons"] == {"critic: stand-in rejects": 1}
    assert stage_counts([str(out)])["rejected"] == 1
    assert stage_counts([str(path)]) == {"made": 3, "blocked": 1, "failed": 0}


def test_a_video_is_shown_through_evenly_spaced_frames():
    assert media_critic.evenly_spaced(list(range(9)), 3) == [0, 4, 8]
    assert media_critic.evenly_spaced(list(range(2)), 3) == [0, 1]
    assert media_critic.evenly_spaced(list(range(9)), 1) == [4]
    item = {"frames_dir": "f", "frames": [{"file": f"{i:05d}.jpg"} for i in range(5)]}
    files = media_critic.media_files(item, "frames", 2)
    assert files == [Path("f/00000.jpg"), Path("f/00004.jpg")]


# --- the label validator ---------------------------------------------------------------


def test_a_crop_keeps_context_inside_the_image_with_the_box_outlined(tmp_path):
    assert label_validator.crop_box([40, 40, 80, 60], 100, 100, 0.25) == (30, 32, 90, 68)
    assert label_validator.crop_box([0, 0, 100, 100], 100, 100, 0.25) == (0, 0, 100, 100)
    path = tmp_path / "a.jpg"
    Image.new("RGB", (100, 100), "white").save(path)
    with Image.open(io.BytesIO(label_validator.crop_jpeg(path, [40, 40, 80, 60], 0.25))) as crop:
        assert crop.size == (60, 36)
        red, green, _ = crop.convert("RGB").getpixel((30, 8))  # on the outline
        assert red - green > 60  # red, as far as JPEG's colour blur lets it be
        red, green, _ = crop.convert("RGB").getpixel((30, 20))  # inside: the white image
        assert red > 200 and green > 200


VALIDATOR_REQUEST = {
    "model": "standin",
    "prompt": label_validator.DEFAULT_PROMPT,
    "context": 0.25,
    "mode": "drop",
    "rule": RULE,
}


def video_labels(tmp_path):
    frames = []
    for n in range(3):
        path = tmp_path / f"{n:05d}.jpg"
        Image.new("RGB", (100, 80), "gray").save(path)
        frames.append(str(path))
    image = tmp_path / "still.jpg"
    Image.new("RGB", (100, 80), "white").save(image)

    def obj(name, box, **extra):
        return {"class": name, "score": 0.5, "box": box, "mask": {}, **extra}

    items = [
        {
            "id": "p0",
            "kind": "image",
            "seed": 0,
            "image": str(image),
            "width": 100,
            "height": 80,
            "objects": [obj("can", [10, 10, 30, 30]), obj("person", [50, 20, 90, 70])],
        },
    ] + [
        {
            "id": f"v/{n}",
            "kind": "frame",
            "seed": 0,
            "video": "v",
            "source_index": n,
            "image": frames[n],
            "width": 100,
            "height": 80,
            "objects": [obj("forklift", [20 + n, 20, 60 + n, 60], track=1)],
        }
        for n in range(3)
    ]
    labels = {
        "dataset": "a",
        "part": 0,
        "classes": ["can", "person", "forklift"],
        "thresholds": {},
        "objects": 5,
        "items": items,
        "skipped": [],
    }
    write_labels(tmp_path / "part0.json", labels)
    return tmp_path / "part0.json"


@pytest.mark.parametrize(
    "mode, kept, flagged", [("drop", 2, 0), ("keep-and-flag", 5, 3), ("off", 5, 0)]
)
def test_the_validator_asks_once_per_label_or_track_and_applies_its_mode(
    tmp_path, no_proxy, mode, kept, flagged
):
    path = video_labels(tmp_path)
    script = [{"when": "'forklift'", "answer": "reject"}]
    with FakeVLM(script) as vlm:
        ask_fn = critic.asker(
            critic.chat_sender("standin", vlm.base_url, "k", 5),
            tmp_path / "cache",
            {"concurrency": 3, "retries": 0},
        )
        out = tmp_path / "validated.json"
        result = label_validator.validate_part(
            path, out, {**VALIDATOR_REQUEST, "mode": mode}, ask_fn
        )
    # Two image objects and one track, shown on its middle frame: the can grown by 8 pixels
    # a side (36 x 36), the person by 10 and 12.5 then cut at the image's right and bottom
    # edges (60 x 73), the forklift by 10 (60 x 60).
    sizes = sorted(tuple(r["sizes"][0]) for r in vlm.requests)
    assert sizes == [(36, 36), (60, 60), (60, 73)]
    assert sum("'forklift'" in r["text"] for r in vlm.requests) == 1
    objects = [o for item in read_labels(out)["items"] for o in item["objects"]]
    assert len(objects) == kept == result["objects"]
    assert sum(o.get("flagged", False) for o in objects) == flagged
    assert all("validator" in o for o in objects)
    counts = result["validator"]
    assert (counts["asked"], counts["accept"], counts["reject"]) == (3, 2, 1)
    assert critic_counts({}, [str(out)])["labels"]["asked"] == 3


# --- config and planning ---------------------------------------------------------------


def checked(tmp_path, monkeypatch, **overrides):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.yaml").write_text(json.dumps(DEMO_TEMPLATE))
    dataset = small_dataset(template="t.yaml", **overrides)
    config, _ = checked_config({"datasets": {"a": dataset}}, "c.yaml")
    return config["datasets"]["a"]


def test_without_a_critic_block_nothing_is_planned_differently(tmp_path, monkeypatch):
    ds = checked(tmp_path, monkeypatch)
    assert "critic" not in ds and "validator" not in ds["labeling"]["thresholds"]
    assert plan.dataset_labels("a", ds) == ["results/a/labels/part0.json"]
    assert plan.dataset_manifests("a", ds)["images"][0] == "results/a/images/seed0.manifest.json"
    assert plan.label_inputs("frames", "a", ds, 0)["manifests"][0].startswith("results/a/frames/")
    assert "validated" not in plan.tune_inputs("a", ds)


def test_a_critic_block_routes_manifests_and_labels_through_it(tmp_path, monkeypatch):
    ds = checked(tmp_path, monkeypatch, critic={"model": "m"})
    assert ds["critic"]["concurrency"] == 8 and ds["critic"]["media"]["video_frames"] == 3
    assert plan.dataset_labels("a", ds) == ["results/a/validated/part0.json"]
    manifests = plan.dataset_manifests("a", ds)
    assert manifests["images"][1] == "results/a/critic/images/seed1.manifest.json"
    assert manifests["videos"][0] == "results/a/videos/seed0.manifest.json"
    assert plan.label_inputs("frames", "a", ds, 0)["manifests"][0].startswith("results/a/critic/")
    assert plan.critic_inputs("a", ds, "frames", 1)["videos"] == (
        "results/a/videos/seed1.manifest.json"
    )
    assert plan.validator_request(ds, "q {class_name}")["mode"] == "off"
    media_off = checked(tmp_path, monkeypatch, critic={"model": "m", "media": {"enabled": False}})
    assert plan.dataset_manifests("a", media_off)["images"][0].startswith("results/a/images/")


def test_a_validator_mode_without_a_validator_names_the_key(tmp_path, monkeypatch):
    labeling = {"smoke_models": True, "thresholds": {"validator": "drop"}}
    with pytest.raises(ConfigError, match="datasets.a.labeling.thresholds.validator: is 'drop'"):
        checked(tmp_path, monkeypatch, labeling=labeling)
    with pytest.raises(ConfigError, match="critic.concurrency"):
        checked(tmp_path, monkeypatch, critic={"model": "m", "concurrency": 0})
    bad = {"model": "m", "labels": {"prompt": "Is it a {class}? Answer {verdict: ...}"}}
    with pytest.raises(ConfigError, match=r"critic.labels.prompt: cannot be filled in .*class"):
        checked(tmp_path, monkeypatch, critic=bad)
    good = {"model": "m", "media": {"prompt": "A {what} for {prompt!r}: {{JSON}}"}}
    assert checked(tmp_path, monkeypatch, critic=good)["critic"]["media"]["prompt"]


# --- the tuning page ---------------------------------------------------------------------


def test_the_tuning_page_applies_verdicts_as_the_validator_does(tmp_path):
    import tune_js
    from synthdet.export.naming import export_name
    from synthdet.report import tune

    if tune_js.missing():
        pytest.skip(f"NO NODE TEST: {tune_js.missing()}")
    path = video_labels(tmp_path)
    reject_forklifts = lambda questions: [  # noqa: E731
        {
            "verdict": "reject" if q.key["class"] == "forklift" else "accept",
            "score": None,
            "reason": "",
        }
        for q in questions
    ]
    results = {}
    for mode in ("off", "drop", "keep-and-flag"):
        out = tmp_path / f"{mode}.json"
        request = {**VALIDATOR_REQUEST, "mode": mode}
        results[mode] = label_validator.validate_part(path, out, request, reject_forklifts)
    # The page gets the verdicts from a drop run (dropped labels included) and applies
    # each mode to the labels filter_labels made, as the page's filter would make them.
    verdicts = tune.verdicts_by_name([tmp_path / "drop.json"])
    items = read_labels(path)["items"]
    calls = [
        ("applyVerdicts", [item["objects"], verdicts.get(export_name(item), []), mode])
        for mode in results
        for item in items
    ]
    answers = iter(tune_js.call_many(calls))
    for mode, result in results.items():
        for expected in result["items"]:
            assert next(answers) == expected["objects"], mode
    unasked = {"class": "can", "box": [1, 1, 5, 5], "score": 0.5, "mask": {}}
    assert tune_js.call_many(
        [("applyVerdicts", [[unasked], verdicts["seed0_p0.jpg"], "drop"])]
    ) == [[unasked]]


def test_a_request_the_endpoint_refuses_fails_with_its_message_and_no_key(tmp_path, no_proxy):
    key = "sk-critic-secret-42"
    with FakeVLM() as vlm:
        send = critic.chat_sender("standin", vlm.base_url, key, 5)
        bad = [Question({"n": 0}, lambda: [{"type": "text", "text": f"no image {key}"}])]
        with pytest.raises(CriticError, match="HTTP 400: .*image_url parts expected") as error:
            critic.ask_all(bad, send, VerdictCache(tmp_path), 1, 3)
    assert key not in str(error.value) and len(vlm.problems) == 1  # a 400 is not retried
