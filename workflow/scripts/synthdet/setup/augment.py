"""LLM-augmented prompts: an OpenAI-compatible chat model turns each template prompt into
realistic variations, told what the detector is for.

One request per template prompt. An answer must be a JSON list of exactly the requested
number of strings, with no duplicates (whitespace and case aside, also across template
prompts), no control characters and, unless switched off, each naming an ontology phrase.
A rejected answer is asked again with the reason, a bounded number of times; then the job
fails and every answer is in its log. The endpoint's URL and key come from environment
variables named in the config and are never written anywhere.
"""

import json
import logging
import re
import unicodedata

from ..core.names import normalized_phrase
from .templates import prompt_id

log = logging.getLogger("synthdet.augment")

SYSTEM_MESSAGE = (
    "You write prompts for a text-to-image model that makes synthetic training images for "
    "an object detector. Each prompt you write is a realistic, concrete variation of the "
    "prompt you are given: change the scene, viewpoint, lighting, weather, materials, "
    "clutter or camera, keep it one self-contained description, and keep the objects the "
    "detector must find clearly named. You answer with a JSON array of strings and nothing "
    "else."
)


class BadAnswer(ValueError):
    """An answer that breaks a rule; the message is the reason, fed back to the model."""


class AugmentError(RuntimeError):
    """Augmentation gave up: the message says why and where the answers are."""


def request_settings(augment, classes):
    """What decides the answer (the rule's params): model, instruction, count, and the
    phrases a variation must name (None when that check is off)."""
    phrases = None
    if augment["require_phrase"]:
        phrases = sorted({normalized_phrase(p) for ps in classes.values() for p in ps})
    return {
        "model": augment["model"],
        "instruction": augment["instruction"],
        "variations": augment["variations"],
        "phrases": phrases,
    }


def user_message(prompt, request):
    count = request["variations"]
    lines = [
        f"What the detector is for: {request['instruction']}",
        f"Template prompt: {prompt}",
        f"Write {count} variations of the template prompt.",
    ]
    if request["phrases"] is not None:
        names = ", ".join(json.dumps(p) for p in request["phrases"])
        lines.append(f"Each variation must name at least one of these objects: {names}.")
    lines.append(f"Answer with only a JSON array of {count} distinct strings.")
    return "\n".join(lines)


def fenced_json(text):
    """The JSON inside a Markdown code fence, which chat models often add; else the text."""
    match = re.fullmatch(r"\s*```[A-Za-z]*\s*\n(.*)\n\s*```\s*", text, re.S)
    return match.group(1) if match else text


def names_phrase(text, phrases):
    """Whether `text` names one of `phrases` as whole words (a plural with s/es counts)."""
    words = normalized_phrase(text)
    return any(re.search(rf"\b{re.escape(p)}(?:s|es)?\b", words) for p in phrases)


def has_control_characters(text):
    return any(unicodedata.category(char) == "Cc" for char in text)


def parse_answer(content, request, taken=()):
    """The variations in an answer, or BadAnswer with the reason.

    `taken` holds the normalized variations already accepted for earlier template prompts.
    """
    count = request["variations"]
    if not content or not content.strip():
        raise BadAnswer("the answer was empty")
    try:
        answer = json.loads(fenced_json(content))
    except json.JSONDecodeError as error:
        raise BadAnswer(f"the answer is not valid JSON ({error})") from None
    if not isinstance(answer, list) or not all(isinstance(item, str) for item in answer):
        raise BadAnswer("the answer must be a JSON array of strings")
    if len(answer) != count:
        raise BadAnswer(f"the answer has {len(answer)} strings, not {count}")
    variations, seen = [], set(taken)
    for number, item in enumerate(answer, 1):
        text = item.strip()
        if not text:
            raise BadAnswer(f"string {number} is empty")
        if has_control_characters(text):
            raise BadAnswer(f"string {number} holds a control character (line break, tab ...)")
        key = normalized_phrase(text)
        if key in seen:
            raise BadAnswer(f"string {number} repeats another variation: {text!r}")
        if request["phrases"] is not None and not names_phrase(text, request["phrases"]):
            raise BadAnswer(f"string {number} names none of the objects: {text!r}")
        seen.add(key)
        variations.append(text)
    return variations


def ask_variations(ask, prompt, request, retries, taken=()):
    """Ask for the variations of one template prompt.

    `ask(messages)` returns the answer's text. A rejected answer is asked again with the
    reason, at most `retries` times. Returns (variations, answers); raises AugmentError
    with every answer when none passed.
    """
    messages = [
        {"role": "system", "content": SYSTEM_MESSAGE},
        {"role": "user", "content": user_message(prompt, request)},
    ]
    answers = []
    for attempt in range(retries + 1):
        content = ask(messages)
        try:
            return parse_answer(content, request, taken), answers + [content]
        except BadAnswer as error:
            reason = str(error)
        answers.append(content)
        log.warning("answer %d for %r rejected: %s\n%s", attempt + 1, prompt, reason, content)
        messages = messages + [
            {"role": "assistant", "content": content or ""},
            {"role": "user", "content": f"Rejected: {reason}. Answer again."},
        ]
    raise AugmentError(
        f"{len(answers)} answers for the template prompt {prompt!r} were rejected, "
        f"the last because {reason}"
    )


def augment(prompts, request, ask, retries):
    """Variations of every template prompt: the record kept in results/<ds>/augmented.json."""
    taken, records = set(), []
    for number, prompt in enumerate(prompts, 1):
        variations, answers = ask_variations(ask, prompt["prompt"], request, retries, taken)
        taken.update(normalized_phrase(v) for v in variations)
        records.append(
            {
                "id": prompt["id"],
                "prompt": prompt["prompt"],
                "variations": variations,
                "answers": len(answers),
            }
        )
        log.info("template prompt %d/%d: %d variations", number, len(prompts), len(variations))
    return {**request, "system": SYSTEM_MESSAGE, "prompts": records}


def augmented_prompts(prompts, record, has_video_template, source):
    """Each template prompt replaced by its variations, with ids from their own text.

    The video prompt of a variation is its source's when the template has a
    `video_template`, else the variation itself (as without augmentation).
    """
    expected = [p["id"] for p in prompts]
    if [r["id"] for r in record["prompts"]] != expected:
        raise AugmentError(
            f"{source} was made for other template prompts; "
            "rerun with --forcerun augment_prompts"
        )
    result = []
    for prompt, entry in zip(prompts, record["prompts"]):
        for text in entry["variations"]:
            result.append(
                {
                    "id": prompt_id(text),
                    "prompt": text,
                    "video_prompt": prompt["video_prompt"] if has_video_template else text,
                    "values": prompt["values"],
                    "source": prompt["id"],
                }
            )
    return result


ENDPOINT_HINTS = {
    "base_url_env": "the endpoint's base URL, e.g. http://host:8000/v1",
    "api_key_env": "the API key; any value for a server that needs none",
}


def endpoint(settings, environ, block="augment", error=AugmentError):
    """(base URL, API key) from the environment variables the config's `block` (augment or
    critic) names; `error` says which is missing and what to set it to."""
    values = []
    for key, hint in ENDPOINT_HINTS.items():
        name = settings[key]
        if not environ.get(name):
            raise error(
                f"environment variable {name} is not set ({block}.{key} names it): "
                f"set it to {hint}"
            )
        values.append(environ[name])
    return tuple(values)


def redacted(text, secrets):
    for secret in secrets:
        text = text.replace(secret, "<redacted>")
    return text


def chat_asker(model, base_url, api_key, timeout, retries):
    """`ask(messages)` through the official openai client: answer text, or AugmentError.

    The client itself retries timeouts, lost connections, 408, 409, 429 and 5xx answers
    `retries` times, waiting as `Retry-After` says (up to two minutes; a longer wait is
    not retried) or with exponential backoff. Messages never hold the URL or the key.
    """
    import openai  # only this rule's environment has it

    client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=retries)
    tries = f"{retries + 1} attempts" if retries else "1 attempt"

    def ask(messages):
        try:
            response = client.chat.completions.create(model=model, messages=messages)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            raise AugmentError(
                f"the endpoint refused the API key (HTTP {error.status_code})"
            ) from None
        except openai.RateLimitError:
            raise AugmentError(
                f"the endpoint kept answering 429 (rate limit) in up to {tries} "
                "(a Retry-After over two minutes is not waited for)"
            ) from None
        except openai.APITimeoutError:
            raise AugmentError(f"no answer within the timeout ({timeout} s) in {tries}") from None
        except openai.APIConnectionError:
            raise AugmentError(
                f"could not connect to the endpoint in {tries}; is there network on this "
                "host (compute nodes often have none)?"
            ) from None
        except openai.APIStatusError as error:
            detail = redacted(str(error.message), (api_key, base_url))
            raise AugmentError(
                f"the endpoint answered HTTP {error.status_code}: {detail}"
            ) from None
        except (openai.APIError, ValueError) as error:  # a body that is not JSON, or not a chat
            detail = redacted(str(error), (api_key, base_url))
            raise AugmentError(
                f"the endpoint's answer is not a chat completion: {detail}"
            ) from None
        if not response.choices:
            return None
        return response.choices[0].message.content

    return ask
