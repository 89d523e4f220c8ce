"""A stand-in for a vision-language chat endpoint (OpenAI-compatible), on 127.0.0.1 only.

NOT A MODEL: it never looks at what an image shows. It checks the request's format (a
system message, then a user message of one text part and one or more `image_url` parts
whose data URLs decode to JPEG images; it records their sizes so tests can compare them
with the crops and frames they expect) and answers from a script: the first rule whose
`when` text is in the question decides, else `default`. Answers:
  accept, reject   a verdict (JSON) with a score and a reason
  malformed        text that is no verdict
  slow             an accept after `slow_seconds`
  429              HTTP 429 with `Retry-After: <retry_after>`
  500              HTTP 500, also with `Retry-After: <retry_after>` (as a 503 may say)
A rule with `times: n` applies to its first n matching requests only (e.g. one 429, then
the default). `latency` delays every answer (the benchmark's 50 ms).
"""

import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

import fake_llm

ANSWERS = ("accept", "reject", "malformed", "slow", "429", "500")


def verdict(kind):
    if kind == "malformed":
        return "I think it looks fine, mostly."
    score = 0.9 if kind in ("accept", "slow") else 0.1
    reason = "stand-in accepts" if score > 0.5 else "stand-in rejects"
    return json.dumps(
        {"verdict": "reject" if score < 0.5 else "accept", "score": score, "reason": reason}
    )


USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


def completion(content, model):
    return fake_llm.completion(content, model, USAGE, "chatcmpl-standin-vlm")


def decoded_image(url):
    """The (width, height) of a JPEG data URL, or ValueError saying what is wrong."""
    prefix = "data:image/jpeg;base64,"
    if not url.startswith(prefix):
        raise ValueError(f"not a JPEG data URL: {url[:40]!r}")
    data = base64.b64decode(url[len(prefix) :], validate=True)
    with Image.open(io.BytesIO(data)) as image:
        if image.format != "JPEG":
            raise ValueError(f"the data URL holds {image.format}, not JPEG")
        image.load()
        return image.size


def checked_request(request):
    """(question text, image sizes) of a well-formed request, else ValueError."""
    if not request.get("model"):
        raise ValueError("no model")
    messages = request.get("messages")
    if not isinstance(messages, list) or [m.get("role") for m in messages] != ["system", "user"]:
        raise ValueError("expected a system and a user message")
    parts = messages[1]["content"]
    if not isinstance(parts, list) or not parts or parts[0].get("type") != "text":
        raise ValueError("the user message must be a list starting with a text part")
    images = parts[1:]
    if not images or any(p.get("type") != "image_url" for p in images):
        raise ValueError("after the text, one or more image_url parts expected")
    return parts[0]["text"], [decoded_image(p["image_url"]["url"]) for p in images]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: 16 clients connect at once in the bench


class FakeVLM:
    """`with FakeVLM(script) as vlm:`; `vlm.base_url` for the client, `vlm.requests` the
    requests seen (text, image sizes, answer), `vlm.problems` the malformed ones."""

    def __init__(self, script=(), default="accept", latency=0.0, retry_after="0", slow_seconds=2.0):
        self.script = [dict(rule) for rule in script]
        self.default, self.latency = default, latency
        self.retry_after, self.slow_seconds = retry_after, slow_seconds
        self.requests, self.problems = [], []
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0
        self.server = Server(("127.0.0.1", 0), self.handler())
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def answer_for(self, text):
        with self.lock:
            for rule in self.script:
                if rule["when"] in text and rule.get("times", 1) > 0:
                    if "times" in rule:
                        rule["times"] -= 1
                    return rule["answer"]
            return self.default

    def respond(self, request):
        """(status, headers, body) for one request."""
        try:
            text, sizes = checked_request(request)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            with self.lock:
                self.problems.append(str(error))
            return 400, {}, {"error": {"message": f"stand-in: {error}", "type": "invalid"}}
        kind = self.answer_for(text)
        with self.lock:
            self.requests.append({"text": text, "sizes": sizes, "answer": kind})
        time.sleep(self.latency + (self.slow_seconds if kind == "slow" else 0))
        if kind == "429":
            return 429, {"Retry-After": self.retry_after}, {"error": {"message": "slow down"}}
        if kind == "500":
            return (
                500,
                {"Retry-After": self.retry_after},
                {"error": {"message": "stand-in failure"}},
            )
        return 200, {}, completion(verdict(kind), request["model"])

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real server: no connect per request
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                with fake.lock:
                    fake.in_flight += 1
                    fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
                try:
                    status, headers, body = fake.respond(json.loads(self.rfile.read(length)))
                finally:
                    with fake.lock:
                        fake.in_flight -= 1
                data = json.dumps(body).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

        return Handler

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def main():
    """Serve from the command line: python tests/fake_vlm [--latency S] [SCRIPT.json]; prints
    the base URL, then serves until killed (tools/bench_critic.py runs it apart from the
    client, so the two do not share one interpreter lock)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", nargs="?", help="a JSON list of rules")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    script = json.loads(open(args.script).read()) if args.script else []
    with FakeVLM(script, latency=args.latency) as vlm:
        print(vlm.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
