"""Upload a dataset's Edge Impulse folder with Edge Impulse's own uploader.

`edge-impulse-uploader --dataset-format pascal-voc-xml-object-detection --directory D`
pairs each XML with the image its <filename> names and takes the split (training or
testing) from the folder path it is given. So the uploader runs once per split folder,
from the export folder, with `--directory training` (or `testing`): the path it reads a
split from is exactly the split's name, never the dataset's name or the checkout's path.

The API key comes from an environment variable (its name is in the config, the key is
not): it reaches the uploader as `--api-key`, and every log line shows it as `***`.
What the uploader uploaded, skipped (an XML it could not use) and rejected (a failed
upload) is read from its output.
"""

import json
import re
import secrets
import shlex
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from ..core.errors import ConfigError

DATASET_FORMAT = "pascal-voc-xml-object-detection"
SPLITS = ("training", "testing")
OUTPUT_TAIL_LINES = 40

UPLOADED = re.compile(r"^\[\s*\d+/\d+\] Uploading (?P<path>.+) OK \(\d+ ms\)$")
REJECTED = re.compile(r"^\[\s*\d+/\d+\] Failed to upload (?P<path>\S+) (?P<reason>.*)$")
SKIPPED = re.compile(r"^Skipping file '(?P<path>.+)': (?P<reason>.*)$")


class UploadError(RuntimeError):
    pass


def api_key(site, environ):
    name = site["api_key_env"]
    key = environ.get(name, "")
    if not key:
        raise ConfigError(
            "config", "edge_impulse.api_key_env", f"the environment variable {name} is not set"
        )
    return key


def command(site, split, key):
    return [
        *site["uploader"],
        "--dataset-format",
        DATASET_FORMAT,
        "--directory",
        split,
        "--category",
        split,
        "--api-key",
        key,
    ]


def shown(argv, key):
    """The command as the log shows it: the key replaced, then quoted. (Quoting first would
    split a key holding a quote into pieces the replacement no longer finds.) A shell-safe
    stand-in takes the key's place during quoting, so the log reads `--api-key ***`."""
    stand_in = f"APIKEY{secrets.token_hex(8)}"
    return shlex.join(masked(arg, key, stand_in) for arg in argv).replace(stand_in, "***")


def masked(text, key, mask="***"):
    """`text` with the key, as written or as JSON or a shell would quote it, as `mask`."""
    for form in (shlex.quote(key), json.dumps(key)[1:-1], key):
        text = text.replace(form, mask)
    return text


def parse_output(text):
    """What the uploader says it did, file by file."""
    result = {"uploaded": [], "skipped": [], "rejected": []}
    for line in text.splitlines():
        line = line.strip()
        if match := UPLOADED.match(line):
            result["uploaded"].append(match["path"])
        elif match := REJECTED.match(line):
            result["rejected"].append({"path": match["path"], "reason": match["reason"]})
        elif match := SKIPPED.match(line):
            result["skipped"].append({"path": match["path"], "reason": match["reason"]})
    return result


def tail(text, lines=OUTPUT_TAIL_LINES):
    return "\n".join(text.splitlines()[-lines:])


def upload_split(export_dir, split, site, key, environ, log):
    argv = command(site, split, key)
    log.write(f"$ cd {shlex.quote(str(export_dir))} && {shown(argv, key)}\n")
    run = subprocess.run(
        argv, cwd=export_dir, env=environ, capture_output=True, text=True, errors="replace"
    )
    output = masked(run.stdout + run.stderr, key)
    log.write(output)
    if run.returncode != 0:
        raise UploadError(
            f"edge-impulse-uploader exited with code {run.returncode} on {split}/:\n" + tail(output)
        )
    return parse_output(output)


def holds_objects(path):
    """Whether an annotation XML has an <object>: parsed when it parses, else by its text
    (an XML the uploader could not parse may well be one that is not well-formed)."""
    try:
        return ElementTree.parse(path).getroot().find("object") is not None
    except (ElementTree.ParseError, OSError):
        return not Path(path).is_file() or "<object" in Path(path).read_text(errors="replace")


def check_skipped(export_dir, record):
    """The uploader skips an XML it cannot use and uploads its image with no boxes. That is
    right for an image without objects (`exports.empty_images: unlabeled`); for one whose
    XML holds objects, boxes would be lost without a word, so the upload fails instead."""
    lost = [
        skip
        for outcome in record["splits"].values()
        for skip in outcome["skipped"]
        if holds_objects(export_dir / skip["path"])
    ]
    if lost:
        listing = "\n".join(f"  {s['path']}: {s['reason']}" for s in lost)
        raise UploadError(
            f"the uploader skipped {len(lost)} annotation file(s) that hold objects (their "
            f"images went up with no boxes):\n{listing}"
        )


def upload(export_dir, site, environ, log):
    """Upload every split folder of `export_dir`; returns the record of what happened.

    Raises UploadError with the uploader's output when it fails or rejects a file.
    """
    export_dir = Path(export_dir)
    splits = [split for split in SPLITS if (export_dir / split).is_dir()]
    if not splits:
        raise UploadError(f"{export_dir} has no {' or '.join(SPLITS)} folder to upload")
    key = api_key(site, environ)
    record = {"format": DATASET_FORMAT, "splits": {}}
    for split in splits:
        record["splits"][split] = upload_split(export_dir, split, site, key, environ, log)
    check_skipped(export_dir, record)
    rejected = [r for outcome in record["splits"].values() for r in outcome["rejected"]]
    if rejected:
        listing = "\n".join(f"  {r['path']}: {r['reason']}" for r in rejected)
        raise UploadError(f"Edge Impulse rejected {len(rejected)} file(s):\n{listing}")
    return record


def upload_all(folders, site, environ, log):
    """The Edge Impulse folder of a dataset, or of each export shard (`shard<N>/`, each
    with its training/ and testing/: the uploader runs in each shard's folder, so every
    file keeps its split). One folder gives upload()'s record; shards give
    {"format", "shards": {"shard<N>": record}}."""
    if len(folders) == 1:
        return upload(folders[0], site, environ, log)
    shards = {Path(folder).name: upload(folder, site, environ, log) for folder in folders}
    return {"format": DATASET_FORMAT, "shards": shards}
