"""A STAND-IN for the Hugging Face hub and for a release file server, on 127.0.0.1.

Not the hub: it serves only `/<repo>/resolve/<revision>/<file>` (what huggingface_hub's
hf_hub_url makes, so HF_ENDPOINT can point here) and `/files/<name>` (a release URL),
from bytes the test gives it, with HTTP Range support. Switches: `drop_after[path] = n`
sends n bytes of the next response for `path`, then drops the connection; `gated[repo] =
token` answers 401 without a token and 403 with a wrong one; `to_cdn = True` answers a
resolve URL with a 302 to `/cdn/...`, as the hub does for large files. Every request is
recorded.
"""

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RANGE = re.compile(r"bytes=(\d+)-$")


@dataclass
class Served:
    path: str
    start: int  # the first byte asked for (0 without a Range header)
    sent: int  # body bytes actually sent
    status: int
    authorization: str = None


@dataclass
class StandInHub:
    files: dict = field(default_factory=dict)  # URL path -> bytes
    drop_after: dict = field(default_factory=dict)
    gated: dict = field(default_factory=dict)  # repo -> the one token it accepts
    log: list = field(default_factory=list)
    to_cdn: bool = False

    def hub_file(self, repo, revision, name, content):
        self.files[f"/{repo}/resolve/{revision}/{name}"] = content

    def release_file(self, name, content):
        self.files[f"/files/{name}"] = content
        return f"{self.url}/files/{name}"

    def start(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                hub.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def refused(self, handler):
        repo = "/".join(handler.path.split("/")[1:3])
        if repo not in self.gated:
            return None
        given = handler.headers.get("Authorization")
        if not given:
            return 401
        return None if given == f"Bearer {self.gated[repo]}" else 403

    def answer(self, handler):
        auth = handler.headers.get("Authorization")
        content = self.files.get(handler.path.removeprefix("/cdn"))
        status = self.refused(handler) or (404 if content is None else None)
        if status:
            self.log.append(Served(handler.path, 0, 0, status, auth))
            handler.send_error(status)
            return
        if self.to_cdn and handler.path.split("/")[3:4] == ["resolve"]:
            self.log.append(Served(handler.path, 0, 0, 302, auth))
            handler.send_response(302)
            handler.send_header("Location", "/cdn" + handler.path)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        match = RANGE.match(handler.headers.get("Range", ""))
        start = int(match.group(1)) if match else 0
        if start >= len(content) and match:
            self.log.append(Served(handler.path, start, 0, 416, auth))
            handler.send_error(416)
            return
        body = content[start:]
        handler.send_response(206 if match else 200)
        if match:
            handler.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        cut = self.drop_after.pop(handler.path, None)
        sent = body if cut is None else body[:cut]
        # Recorded before sending: the client may be done before this thread runs again.
        self.log.append(Served(handler.path, start, len(sent), 206 if match else 200, auth))
        handler.wfile.write(sent)
        handler.wfile.flush()
        if cut is not None:
            handler.close_connection = True
            handler.connection.shutdown(2)  # the drop: fewer bytes than Content-Length said
