"""Resumable, verified downloads of pinned model files (model_pins.Pin).

A file grows under `<name>.part`; an interrupted download resumes from the bytes already
there (an HTTP Range request), and only a file whose SHA-256 matches its pin is renamed
to its name. Hugging Face files go through huggingface_hub's resolve URL, so HF_ENDPOINT
(a mirror) and HF_TOKEN (gated repositories) apply; other files come from their URL.
"""

import hashlib
import http.client
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK = 1 << 20
RETRY_PAUSES = (0, 0, 2, 10, 30)  # seconds before each attempt
HUB = "https://huggingface.co"


class FetchError(RuntimeError):
    """A download that cannot go on; the message names the file and what to do."""


def source_url(pin, environ=os.environ):
    if not pin.hub:
        return pin.url
    from huggingface_hub import hf_hub_url

    # HF_ENDPOINT is read here, not at huggingface_hub's import, so a mirror set later counts.
    endpoint = environ.get("HF_ENDPOINT") or HUB
    return hf_hub_url(pin.hub, pin.file, revision=pin.revision, endpoint=endpoint)


def auth_headers(pin, environ=os.environ):
    """The token goes only to the hub, and only from HF_TOKEN."""
    if not pin.hub or not environ.get("HF_TOKEN"):
        return {}
    from huggingface_hub.utils import build_hf_headers

    headers = build_hf_headers(token=environ["HF_TOKEN"], library_name="synthdet")
    return {"Authorization": headers["authorization"]}


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def refusal(pin, url, code, environ):
    """What to do about a 401/403: accept the licence, and give the token."""
    if pin.gated:
        token = "HF_TOKEN is set" if environ.get("HF_TOKEN") else "HF_TOKEN is not set"
        return (
            f"{pin.name}: the hub refused {url} (HTTP {code}): {pin.hub} is gated. Accept its "
            f"licence at {pin.gated} while logged in, create a read token at "
            f"https://huggingface.co/settings/tokens and export HF_TOKEN=<token> ({token})."
        )
    return f"{pin.name}: {url} refused the download (HTTP {code})."


def open_range(url, headers, start, timeout):
    """A response for the bytes from `start` on; the Authorization header is never sent on
    to the host a redirect points at (the hub redirects large files to a CDN)."""
    request = urllib.request.Request(url, headers={"User-Agent": "synthdet-fetch-models"})
    for name, value in headers.items():
        request.add_unredirected_header(name, value)
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)


def resumes_at(response, start, name):
    """True when the server sent the rest from `start`; False when it sent the whole file."""
    if response.status != 206:
        return False
    content_range = response.headers.get("Content-Range", "")
    if not content_range.startswith(f"bytes {start}-"):
        raise FetchError(f"{name}: asked for bytes from {start}, the server sent {content_range!r}")
    return True


def receive(pin, url, part, headers, timeout, environ):
    """One request: append the rest of the file to `part` (or start it over)."""
    start = size_of(part)
    try:
        with open_range(url, headers, start, timeout) as response:
            mode = "ab" if start and resumes_at(response, start, pin.name) else "wb"
            expected = response.headers.get("Content-Length")
            received = 0
            with open(part, mode) as out:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    received += len(block)
            if expected is not None and received < int(expected):
                raise ConnectionError(f"closed after {received} of {expected} bytes")
    except urllib.error.HTTPError as error:
        if error.code == 416 and start:
            return  # nothing after `start`: the part holds the whole file (the checksum says)
        if error.code in (401, 403):
            raise FetchError(refusal(pin, url, error.code, environ)) from None
        if error.code >= 500:
            raise ConnectionError(f"HTTP {error.code}") from None
        raise FetchError(f"{pin.name}: {url}: HTTP {error.code} {error.reason}") from None


def download(pin, part, url, headers, attempts, timeout, environ):
    problem = None
    for attempt in range(attempts):
        # A dropped connection is retried at once, a failing server after a pause.
        time.sleep(RETRY_PAUSES[min(attempt, len(RETRY_PAUSES) - 1)])
        try:
            receive(pin, url, part, headers, timeout, environ)
        except (OSError, http.client.HTTPException) as error:
            problem = error
            log.warning("%s: connection lost at %d bytes (%s)", pin.name, size_of(part), error)
            continue
        if pin.size is None or size_of(part) >= pin.size:
            return
        problem = f"the server closed early at {size_of(part)} bytes"
        log.warning("%s: %s", pin.name, problem)
    kept = f"; {size_of(part)} bytes are kept in {part}: run fetch_models again to resume"
    raise FetchError(
        f"{pin.name}: gave up after {attempts} attempts at {url} (last: {problem})"
        + (kept if size_of(part) else "")
    )


def size_of(path):
    return path.stat().st_size if path.exists() else 0


def fetch(pin, folder, environ=os.environ, attempts=5, timeout=60):
    """Make `folder/pin.name` the pinned file. Returns "present" or "fetched"."""
    target = Path(folder) / pin.name
    if target.exists():
        found = sha256_of(target)
        if found != pin.sha256:
            raise FetchError(
                f"{target} is there but its SHA-256 is {found}, not the pinned {pin.sha256}: "
                "move it away and run fetch_models again."
            )
        return "present"
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    if pin.size is not None and part.exists() and part.stat().st_size > pin.size:
        part.unlink()  # longer than the file can be: not a prefix of it
    url = source_url(pin, environ)
    log.info("%s <- %s", pin.name, url)
    download(pin, part, url, auth_headers(pin, environ), attempts, timeout, environ)
    found = sha256_of(part)
    if found != pin.sha256:
        part.unlink()
        raise FetchError(
            f"{target}: checksum mismatch: SHA-256 {found}, pinned {pin.sha256} (from {url}); "
            "the partial download was removed."
        )
    os.replace(part, target)
    return "fetched"
