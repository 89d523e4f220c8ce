"""A stand-in for an OpenAI-compatible chat-completions endpoint, on 127.0.0.1 only.

Not a language model: by default it answers each request with variations made by
appending "variation i" to the template prompt it finds in the request, which is what the
workflow's checks accept. Tests queue other answers (`then(...)`) to inject faults: bad
contents, slow answers, HTTP errors with headers, bodies that are not JSON. Every request
is recorded with its headers, so tests can check what the client sent.
"""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def completion(content, model, usage=USAGE, id="chatcmpl-standin"):
    return {
        "id": id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def default_content(messages):
    """Variations the workflow accepts: the template prompt with a numbered suffix."""
    text = next(m["content"] for m in messages if m["role"] == "user")
    prompt = re.search(r"^Template prompt: (.*)$", text, re.M).group(1)
    count = int(re.search(r"^Write (\d+) variations", text, re.M).group(1))
    return json.dumps([f"{prompt}, variation {i}" for i in range(1, count + 1)])


class FakeLLM:
    """Run with `with FakeLLM() as llm:`; `llm.base_url` is the endpoint's base URL."""

    def __init__(self):
        self.requests = []
        self.queue = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def then(self, content=None, *, delay=0.0, status=200, headers=None, body=None):
        """Queue the answer to the next unanswered request (else the default answer)."""
        self.queue.append(
            {
                "content": content,
                "delay": delay,
                "status": status,
                "headers": headers or {},
                "body": body,
            }
        )
        return self

    def next_action(self):
        with self.lock:
            return self.queue.pop(0) if self.queue else None

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length))
                headers = {name.lower(): value for name, value in self.headers.items()}
                fake.requests.append({"path": self.path, "headers": headers, **request})
                action = fake.next_action() or {
                    "content": None,
                    "delay": 0,
                    "status": 200,
                    "headers": {},
                    "body": None,
                }
                time.sleep(action["delay"])
                if action["body"] is not None:
                    payload = action["body"]
                elif action["status"] != 200:
                    payload = json.dumps({"error": {"message": "stand-in error", "type": "x"}})
                else:
                    content = action["content"]
                    if content is None:
                        content = default_content(request["messages"])
                    payload = json.dumps(completion(content, request["model"]))
                data = payload.encode("utf-8")
                try:
                    self.send_response(action["status"])
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in action["headers"].items():
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
