import os
import stat
import threading

import pytest

from synthdet import gpus
from synthdet.atomic import staged_dir, write_json


@pytest.mark.fault('writes: a job dies while filling its output folder')
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


@pytest.mark.fault('writes: staging folder left by a killed job')
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
    assert "ü" in (tmp_path / "m.json").read_text(encoding="utf-8")


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


def test_a_third_job_waits_for_a_free_gpu(two_fake_gpus):
    got = []
    with gpus.gpu_lease(2, two_fake_gpus) as both:
        assert both == "0,1"
        waiter = threading.Thread(target=lambda: got.append(gpus.gpu_lease(1, two_fake_gpus, 0.05).__enter__()))
        waiter.start()
        waiter.join(0.3)
        assert got == []
    waiter.join(5)
    assert got in (["0"], ["1"])


def test_scheduler_choice_is_respected(two_fake_gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with gpus.gpu_lease(1, two_fake_gpus) as devices:
        assert devices is None


def test_no_driver_means_no_lease(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with gpus.gpu_lease(1, tmp_path) as devices:
        assert devices is None
