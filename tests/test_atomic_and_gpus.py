import json
import os
import stat
import subprocess
import sys
import threading

import pytest

from synthdet.core import gpus
from synthdet.core.atomic import staged_dir, temporary_path, write_json
from synthdet.generate import batches


@pytest.mark.fault("writes: a job dies while filling its output folder")
def test_staged_dir_appears_whole_or_not_at_all(tmp_path):
    final = tmp_path / "images" / "seed0"
    with pytest.raises(RuntimeError):
        with staged_dir(final) as stage:
            (stage / "a.jpg").write_bytes(b"x")
            raise RuntimeError("killed")
    assert not final.exists() and not list((tmp_path / "images").iterdir())
    with staged_dir(final) as stage:
        (stage / "a.jpg").write_bytes(b"x")
        assert not final.exists()
    assert (final / "a.jpg").read_bytes() == b"x"


@pytest.mark.fault("writes: staging folder left by a killed job")
def test_staging_left_by_a_killed_job_is_not_reused(tmp_path):
    final = tmp_path / "seed0"
    leftover = tmp_path / ".seed0.partial"
    leftover.mkdir()
    (leftover / "half.jpg").write_bytes(b"half")
    with staged_dir(final):
        pass
    assert list(final.iterdir()) == []


def test_write_json_leaves_no_temp_file(tmp_path):
    write_json(tmp_path / "m.json", {"a": "ü"})
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    assert (tmp_path / "m.json").read_text(encoding="ascii") == '{\n "a": "\\u00fc"\n}\n'


@pytest.mark.fault("writes: a job killed mid-write leaves its temp file; the rerun removes it")
def test_a_rerun_removes_what_a_killed_write_left(tmp_path):
    target = tmp_path / "candidates" / "part0.json"
    target.parent.mkdir()
    # What SIGKILL during write_json leaves: the temp file, half written, never renamed.
    temporary_path(target).write_bytes(b'{"items": [half')
    write_json(target, {"items": []}, compact=True)
    assert [p.name for p in target.parent.iterdir()] == ["part0.json"]
    assert json.loads(target.read_text()) == {"items": []}


def test_batch_files_read_the_same_under_a_non_utf8_locale(tmp_path):
    """Cosmos opens its batch file with the default encoding: under LANG=C without UTF-8
    mode that is ASCII, so raw UTF-8 would fail to decode or be misread."""
    prompt = "a café can, ü & 日本"
    batch = tmp_path / "seed0.json"
    write_json(batch, batches.text2image_items([{"id": "p1", "prompt": prompt}], "out"))
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "C",
        "LC_ALL": "C",
        "PYTHONUTF8": "0",
        "PYTHONCOERCECLOCALE": "0",
        "PYTHONIOENCODING": "ascii:backslashreplace",
    }
    reader = (
        "import json, locale, sys; print(locale.getpreferredencoding(False));"
        "print(ascii(json.load(open(sys.argv[1]))[0]['prompt']))"
    )
    run = subprocess.run(
        [sys.executable, "-c", reader, str(batch)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    encoding, text = run.stdout.splitlines()
    assert encoding.lower() in ("ascii", "ansi_x3.4-1968")  # the locale really is not UTF-8
    assert text == ascii(prompt)


@pytest.fixture
def two_fake_gpus(tmp_path, monkeypatch):
    tool = tmp_path / "bin" / "nvidia-smi"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\necho 0\necho 1\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return tmp_path / "leases"


def test_concurrent_jobs_lease_different_gpus(two_fake_gpus):
    with gpus.gpu_lease(1, two_fake_gpus) as first:
        with gpus.gpu_lease(1, two_fake_gpus) as second:
            assert {first, second} == {"0", "1"}


class HeldPolls:
    """Stands in for gpus.time: each poll (a failed try for free devices) is announced, and
    the waiter stays parked there until the test lets it retry, so no timing decides."""

    def __init__(self):
        self.polled = threading.Event()
        self.retry = threading.Event()
        self.count = 0

    def sleep(self, seconds):
        self.count += 1
        self.polled.set()
        assert self.retry.wait(10), "the test never let the waiting job retry"


def free_devices(lease_dir):
    """Devices nobody holds: taking a lock file's lock here fails while a lease holds it."""
    free = []
    for device in ("0", "1"):
        handle = gpus.try_lock(lease_dir / f"gpu{device}.lock")
        if handle:
            free.append(device)
            handle.close()
    return free


def test_a_third_job_waits_for_a_free_gpu(two_fake_gpus, monkeypatch):
    polls = HeldPolls()
    monkeypatch.setattr(gpus, "time", polls)
    leased, got_lease, done = [], threading.Event(), threading.Event()

    def third_job():
        with gpus.gpu_lease(1, two_fake_gpus) as device:
            leased.append(device)
            got_lease.set()
            done.wait(10)  # hold the lease until the test has looked at it

    waiter = threading.Thread(target=third_job, daemon=True)
    with gpus.gpu_lease(2, two_fake_gpus) as both:
        assert both == "0,1"
        waiter.start()
        assert polls.polled.wait(10), "the third job neither waited nor leased"
        assert leased == [] and polls.count == 1
    assert free_devices(two_fake_gpus) == ["0", "1"]  # the two-GPU lease let go of both
    polls.retry.set()
    assert got_lease.wait(10), "the third job did not lease a freed GPU"
    assert leased in (["0"], ["1"]) and polls.count == 1
    assert free_devices(two_fake_gpus) == [d for d in ("0", "1") if d not in leased]
    done.set()
    waiter.join(10)
    assert not waiter.is_alive()
    assert free_devices(two_fake_gpus) == ["0", "1"]  # every lease taken here is released


def test_scheduler_choice_is_respected(two_fake_gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with gpus.gpu_lease(1, two_fake_gpus) as devices:
        assert devices is None


def test_no_driver_means_no_lease(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with gpus.gpu_lease(1, tmp_path) as devices:
        assert devices is None


def test_a_staged_folder_is_flushed_once_not_file_by_file(tmp_path, monkeypatch):
    """An export writes 100,000s of small files into its staging folder: an fsync each cost
    6 ms (most of the export); one flush of the filesystem before the rename keeps the
    folder whole on disk. A file written outside a stage keeps its own fsync."""
    from synthdet.core import atomic

    fsyncs, flushes = [], []
    monkeypatch.setattr(atomic.os, "fsync", lambda handle: fsyncs.append(handle))
    monkeypatch.setattr(
        atomic, "sync_filesystem", lambda folder: flushes.append(folder), raising=False
    )
    with staged_dir(tmp_path / "voc") as stage:
        for index in range(5):
            atomic.write_text(stage / "Annotations" / f"{index}.xml", "<annotation/>")
        assert not flushes
    assert len(fsyncs) == 0 and len(flushes) == 1
    assert sorted(p.name for p in (tmp_path / "voc" / "Annotations").iterdir())[0] == "0.xml"
    atomic.write_text(tmp_path / "alone.json", "{}")
    assert len(fsyncs) == 1
