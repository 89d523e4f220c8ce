"""A vision-language critic: questions with images to an OpenAI-compatible chat endpoint,
answers parsed into verdicts, cached by content, asked concurrently.

Shared by the media critic (media_critic.py) and the label validator (label_validator.py).
A question is asked once: its answer is kept in a cache folder under results/<ds>/critic/,
keyed by the SHA-256 of everything that decides it (the image bytes, box, class, model and
prompt), one file per answer written atomically, so a rerun, or a job running beside
another, asks only what was never asked. An answer that is not a verdict is recorded as
`unparsed` with the reason, never taken as a pass.
"""

import base64
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable

from ..setup import augment
from ..setup.augment import fenced_json, redacted

log = logging.getLogger("synthdet.critic")

ACCEPT, REJECT, UNPARSED = "accept", "reject", "unparsed"
SYSTEM_MESSAGE = (
    "You are a strict visual inspector of synthetic training data for an object detector. "
    "Answer with one JSON object and nothing else: "
    '{"verdict": "accept" or "reject", "score": a number from 0 (certainly bad) to 1 '
    '(certainly good), "reason": "one short sentence"}.'
)
# A Retry-After longer than this is not waited for: the job fails and a rerun resumes.
LONGEST_WAIT = 120.0
REASON_CHARACTERS = 300


class CriticError(RuntimeError):
    """The endpoint could not answer (after retries); the message says why."""


class RetryableError(CriticError):
    """A 429, 5xx, timeout or lost connection: worth asking again after `wait` seconds
    (None: the client's backoff decides)."""

    def __init__(self, message, wait=None):
        super().__init__(message)
        self.wait = wait


@dataclass
class Question:
    """`key` holds everything that decides the answer; `content()` builds the message
    parts (text and images) only when the cache does not know the answer."""

    key: dict
    content: Callable[[], list]

    def digest(self):
        text = json.dumps(self.key, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def data_url(jpeg_bytes):
    return "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes).decode("ascii")


def message_content(text, images):
    """A user message's parts: the question, then each JPEG as an `image_url` data URL."""
    parts = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": data_url(image)}} for image in images]
    return parts


# --- answers ----------------------------------------------------------------------------


def unparsed(why, content):
    excerpt = clean_text(content or "")[:120]
    return {"verdict": UNPARSED, "score": None, "reason": f"{why}: {excerpt!r}"}


def clean_text(text):
    """One line of printable text: a model's reason ends up in JSON, logs and HTML."""
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in str(text))
    return re.sub(r"\s+", " ", text).strip()


def json_object(content):
    """The JSON object in an answer: bare, in a Markdown fence, or amid prose."""
    text = fenced_json(content)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        match = re.search(r"\{.*\}", text, re.S)
        if not match:
            raise
        return json.loads(match.group(0))


def parse_verdict(content):
    """{"verdict", "score", "reason"} from an answer; `unparsed` with the reason when the
    answer is not one JSON object with verdict accept or reject and a score in 0..1."""
    if not content or not content.strip():
        return unparsed("empty answer", content)
    try:
        answer = json_object(content)
    except json.JSONDecodeError:
        return unparsed("not JSON", content)
    if not isinstance(answer, dict):
        return unparsed("not a JSON object", content)
    verdict = str(answer.get("verdict", "")).strip().lower()
    if verdict not in (ACCEPT, REJECT):
        return unparsed("verdict is not accept or reject", content)
    score = answer.get("score")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            return unparsed("score is not a number from 0 to 1", content)
        score = float(score)
    reason = clean_text(answer.get("reason", ""))[:REASON_CHARACTERS]
    return {"verdict": verdict, "score": score, "reason": reason}


def rejects(verdict, rule):
    """Whether a verdict rejects its item under `rule` ({"min_score", "unparsed"}): a
    `reject`, a score under `min_score` (when set), or an unparsed answer when
    `unparsed` is `reject`."""
    if verdict["verdict"] == UNPARSED:
        return rule["unparsed"] == "reject"
    if verdict["verdict"] == REJECT:
        return True
    minimum = rule.get("min_score")
    return minimum is not None and verdict["score"] is not None and verdict["score"] < minimum


# --- the cache --------------------------------------------------------------------------


class VerdictCache:
    """One JSON file per answer, `<folder>/<2 hex>/<sha256>.json`, written to a unique
    temporary name and renamed: jobs sharing the folder never see half a file."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def path(self, digest):
        return self.folder / digest[:2] / f"{digest}.json"

    def get(self, digest):
        path = self.path(digest)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.warning("cache entry %s unreadable (%s): asking again", path, error)
            return None
        if not isinstance(entry, dict) or entry.get("verdict") not in (ACCEPT, REJECT, UNPARSED):
            log.warning("cache entry %s is not a verdict: asking again", path)
            return None
        return entry

    def put(self, digest, entry):
        path = self.path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(entry, stream, ensure_ascii=True)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


# --- asking -----------------------------------------------------------------------------


@dataclass
class Tally:
    """What a job asked: HTTP requests (retries included), answers, cache hits, tokens."""

    requests: int = 0
    answers: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts):
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def line(self):
        rate = self.answers / self.seconds if self.seconds else 0.0
        return (
            f"{self.answers} answers ({self.requests} requests), {self.cached} from the cache, "
            f"{self.prompt_tokens} prompt + {self.completion_tokens} completion tokens, "
            f"{self.seconds:.1f} s ({rate:.1f} answers/s)"
        )


def retry_wait(header, attempt, now=None):
    """Seconds to wait before attempt `attempt + 1`: what Retry-After says (seconds or an
    HTTP date), else exponential backoff (0.5 s, 1 s, 2 s ... up to 30 s)."""
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(header).timestamp()
            return max(0.0, moment - (time.time() if now is None else now))
        except (TypeError, ValueError):
            pass
    return min(30.0, 0.5 * 2**attempt)


def with_retries(send, retries, tally, sleep=time.sleep):
    """`send()` again after a RetryableError, at most `retries` times, waiting as the
    error says; a wait over LONGEST_WAIT is not taken."""
    for attempt in range(retries + 1):
        tally.add(requests=1)
        try:
            return send()
        except RetryableError as error:
            if attempt == retries:
                raise CriticError(f"{error} ({retries + 1} attempts)") from None
            wait = error.wait if error.wait is not None else retry_wait(None, attempt)
            if wait > LONGEST_WAIT:
                raise CriticError(f"{error}; Retry-After {wait:.0f} s is too long") from None
            log.info("%s: retry %d/%d in %.1f s", error, attempt + 1, retries, wait)
            sleep(wait)


def endpoint(critic, environ):
    """(base URL, API key) from the environment variables the config names."""
    return augment.endpoint(critic, environ, "critic", CriticError)


def chat_sender(model, base_url, api_key, timeout, max_tokens=200):
    """`send(content) -> (answer text, usage)` through the openai client, which is told not
    to retry (with_retries does, so that every request is counted). Raises RetryableError
    on 429, 5xx, timeouts and lost connections, CriticError on anything else."""
    import openai  # only the critic's environment has it

    client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)

    def send(content):
        messages = [
            {"role": "system", "content": SYSTEM_MESSAGE},
            {"role": "user", "content": content},
        ]
        try:
            response = client.chat.completions.create(
                model=model, messages=messages, temperature=0, max_tokens=max_tokens
            )
        except openai.APITimeoutError:
            raise RetryableError(f"no answer within {timeout} s") from None
        except openai.APIConnectionError:
            raise RetryableError("could not connect to the endpoint") from None
        except openai.APIStatusError as error:
            status = error.status_code
            if status == 429 or status >= 500:
                wait = error.response.headers.get("retry-after")
                raise RetryableError(
                    f"HTTP {status}", retry_wait(wait, 0) if wait else None
                ) from None
            # A 400 or 404 says what is wrong (a model name, too many images): keep its
            # message, without the key or URL should a server echo them.
            detail = redacted(str(error.message), (api_key, base_url))[:300]
            raise CriticError(f"the endpoint answered HTTP {status}: {detail}") from None
        except (openai.APIError, ValueError) as error:
            raise CriticError(f"the answer is not a chat completion ({type(error).__name__})")
        usage = getattr(response, "usage", None)
        tokens = {
            "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
            "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
        }
        text = response.choices[0].message.content if response.choices else None
        return text, tokens

    return send


def ask_all(questions, send, cache, concurrency, retries, sleep=time.sleep):
    """The verdict of every question, in order, and the Tally.

    Cached answers are reused; the others are asked by at most `concurrency` threads and
    cached as they come, so a job that fails part-way keeps what it was told. A question
    the endpoint never answered fails the job, naming how many.
    """
    tally, start = Tally(), time.perf_counter()
    digests = [question.digest() for question in questions]
    verdicts = [cache.get(digest) for digest in digests]
    tally.cached = sum(verdict is not None for verdict in verdicts)
    todo = [i for i, verdict in enumerate(verdicts) if verdict is None]

    def ask(index):
        content = questions[index].content()
        text, tokens = with_retries(lambda: send(content), retries, tally, sleep)
        verdict = parse_verdict(text)
        cache.put(digests[index], verdict)
        tally.add(answers=1, **tokens)
        return verdict

    failures = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {index: pool.submit(ask, index) for index in todo}
        for index, future in futures.items():
            try:
                verdicts[index] = future.result()
            except CriticError as error:
                failures.append(str(error))
    tally.seconds = time.perf_counter() - start
    log.info("critic: %d questions; %s", len(questions), tally.line())
    if failures:
        raise CriticError(
            f"{len(failures)} of {len(todo)} questions got no answer, the first: {failures[0]}; "
            f"the {len(todo) - len(failures)} answered are cached, a rerun asks only the rest"
        )
    return verdicts, tally


def endpoint_sender(settings, model, environ):
    """A `send` for the endpoint the `critic:` block names (URL and key from the
    environment)."""
    base_url, api_key = endpoint(settings, environ)
    logging.getLogger("openai").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return chat_sender(model, base_url, api_key, settings["timeout"])


def asker(send, cache_folder, settings):
    """`ask(questions) -> verdicts` with the job's cache, concurrency and retries."""

    def ask(questions):
        verdicts, _ = ask_all(
            questions,
            send,
            VerdictCache(cache_folder),
            settings["concurrency"],
            settings["retries"],
        )
        return verdicts

    return ask
