"""Hunt 32 (environment): defects a user meets because of their machine, not their input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def deepphoto(*args: str, **kwargs: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "deepphoto", *args], capture_output=True, text=True, env=env, timeout=120, **kwargs
    )


# ---------------------------------------------------------------- standard output on a full disk


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux) to stand for a full disk")
def test_stdout_on_a_full_disk_is_one_line_not_a_traceback():
    # 'deepphoto styles > list.txt' with the disk full was an OSError traceback (ENOSPC from print)
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "deepphoto", "styles"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "deepphoto: error: standard output: cannot be written: the disk is full (No space left on device)"
    ]


def test_stdout_failure_is_kept_and_the_rest_dropped(tmp_path):
    from deepphoto.commands.console import GuardedStream

    class Full:
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

        def flush(self) -> None:
            raise OSError(28, "No space left on device")

    stream = GuardedStream(Full())  # type: ignore[arg-type]
    assert stream.write("styles\n") == 7
    assert stream.write("more\n") == 5  # dropped, quietly
    stream.flush()
    assert stream.broken and stream.failed is not None and stream.failed.errno == 28


# ---------------------------------------------------------------- make demo: the core install


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_installs_the_core_alone_without_pytorch():
    # 'make demo' installed every extra: PyTorch from PyPI, on x86-64 Linux its CUDA build (gigabytes,
    # minutes) for a demo that runs on ONNX Runtime. -n: the commands are printed, nothing is run; -B: as on a
    # fresh machine, whatever this checkout has installed already
    done = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", "-C", str(ROOT), "demo"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    installs = [line for line in done.stdout.splitlines() if "pip install" in line and "constraints.txt" in line]
    assert installs == ['.venv/bin/python -m pip install -c constraints.txt -e "."'], done.stdout
    assert "PyTorch" not in done.stdout
    assert done.stdout.rstrip().endswith(".venv/bin/deepphoto demo")
    # the test set-up still installs every extra, PyTorch with them
    done = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", "-C", str(ROOT), "setup"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert '-e ".[torch,export,vcam,peers,bench,web,cluster,dev]"' in done.stdout


# ---------------------------------------------------------------- batch with a full temporary folder


def test_batch_on_a_full_temporary_disk_says_so_at_once(tmp_path, monkeypatch):
    # a full /tmp (or $TMPDIR): Ray waited half a minute, then the batch said only 'cannot start or
    # reach Ray at this machine (Timed out waiting for file /tmp/ray/session_.../gcs_server_port_...)'
    ray = pytest.importorskip("ray")
    from collections import namedtuple

    from deepphoto.batch import cluster
    from deepphoto.errors import DeepPhotoError

    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    monkeypatch.setattr(cluster.shutil, "disk_usage", lambda path: Usage(10 << 30, 10 << 30, 0))
    monkeypatch.setattr(ray, "is_initialized", lambda: False)

    def init(**kwargs: object) -> None:
        raise RuntimeError(f"Timed out waiting for file {tmp_path}/ray/session_x/gcs_server_port_1")

    monkeypatch.setattr(ray, "init", init)
    with pytest.raises(DeepPhotoError) as caught:
        cluster.connect(None)
    assert str(caught.value) == (
        f"cannot start Ray: the disk of its temporary folder {tmp_path / 'ray'} is full (0 KB free): "
        "free some space there, or set RAY_TMPDIR to a folder on another disk"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Ray's rule for $TMPDIR is Linux's")
def test_ray_temporary_folder_follows_rays_rule(monkeypatch):
    from deepphoto.batch.cluster import ray_temp_folder

    monkeypatch.delenv("RAY_TMPDIR", raising=False)
    monkeypatch.setenv("TMPDIR", "/scratch/me")
    assert ray_temp_folder() == Path("/scratch/me/ray")
    monkeypatch.setenv("RAY_TMPDIR", "/fast")
    assert ray_temp_folder() == Path("/fast/ray")


# ---------------------------------------------------------------- a full engine cache


def test_a_full_engine_cache_is_said_before_the_build_not_after_it(tmp_path, monkeypatch, capsys):
    # the cache's disk full (a probe file still fits): every run calibrated LightNet's INT8 engine for
    # a minute or more (2.5 min here), failed as it wrote it, and ran float; the next run did it again
    from collections import namedtuple

    from deepphoto.engines import build as engine_build
    from deepphoto.engines.models import model_spec

    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    monkeypatch.setattr("shutil.disk_usage", lambda path: Usage(1 << 30, (1 << 30) - 300 * 1024, 300 * 1024))
    calibrated: list[object] = []
    monkeypatch.setattr(engine_build, "_build_into", lambda *args: calibrated.append(args) or {})
    assert engine_build._cpu_winner(model_spec("lightnet"), None, tmp_path) == "fp32"
    assert calibrated == []
    err = capsys.readouterr().err
    assert f"the disk of the engine cache {tmp_path / 'engines'} is full (300 KB free, the build needs about" in err
    assert "running fp32" in err and "building lightnet int8 for onnx (once" not in err


# ---------------------------------------------------------------- two runs with one empty engine cache

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
needs_flock = pytest.mark.skipif(fcntl is None, reason="needs flock (POSIX)")


def _held(folder: Path, stem: str) -> int:
    """The key's lock taken as another process would take it (its own open file)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f".{stem}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@needs_flock
def test_an_engine_being_stored_by_another_process_is_not_removed(tmp_path, monkeypatch, capsys):
    # a run starting while another stored the engine it had built (the engine in place, its record
    # not yet) called it 'damaged or stale' and removed it: the other then failed to open it
    from deepphoto.engines import cache

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    key = cache.EngineKey("lightnet", "0" * 64, "onnx", "ort1", "cpu", "int8")
    folder = tmp_path / "engines"
    fd = _held(folder, key.stem)
    try:
        engine = folder / f"{key.stem}.onnx"
        engine.write_bytes(b"an engine just moved into place")
        assert cache.lookup(key, ".onnx") is None
        assert engine.exists()
        assert "damaged" not in capsys.readouterr().err
    finally:
        os.close(fd)
    assert cache.lookup(key, ".onnx") is None  # no other process now: judged, and removed
    assert not engine.exists()


@needs_flock
def test_a_second_run_waits_for_the_engine_another_is_building(tmp_path, monkeypatch):
    # two first runs at once each calibrated and built the same INT8 engine (minutes of CPU each,
    # one storing over the other); the second now waits for the first and uses its engine
    import threading

    from deepphoto.engines import build as engine_build
    from deepphoto.engines import cache
    from deepphoto.engines.models import model_spec

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    spec = model_spec("lightnet")
    key = engine_build.engine_key(spec, "onnx", "int8", None)
    built: list[object] = []
    monkeypatch.setattr(engine_build, "_build_into", lambda *args: built.append(args) or {})
    waiting = threading.Event()

    class Err:
        def write(self, text: str) -> int:
            waiting.set() if "waiting for another DeepPhoto process" in text else None
            return len(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr(cache.sys, "stderr", Err())
    fd = _held(tmp_path / "engines", key.stem)  # the first run, building
    found: list[object] = []
    second = threading.Thread(target=lambda: found.append(engine_build.build(spec, "onnx", "int8", calib=tmp_path)))
    second.start()
    try:
        assert waiting.wait(60)
        finished = cache.temporary_path(key, ".onnx")
        finished.write_bytes(b"the first run's engine")
        cache.store(key, ".onnx", finished, {"use": "int8", "calibration": str(tmp_path)})
    finally:
        os.close(fd)
        second.join(60)
    assert built == []  # not built a second time
    assert [f.path for f in found] == [tmp_path / "engines" / f"{key.stem}.onnx"]


# ---------------------------------------------------------------- the demo in a folder it cannot write


def test_demo_in_a_read_only_folder_names_its_video_and_out(tmp_path, monkeypatch, capsys):
    # 'deepphoto demo' run in / or a read-only checkout said only '.: output folder is not writable'
    from deepphoto.commands.cli import main
    from deepphoto.stream import output_safety

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(output_safety.os, "access", lambda path, mode: False)
    assert main(["demo"]) == 2
    assert capsys.readouterr().err == (
        "deepphoto: error: the demo writes its video to demo-output/deepphoto-demo.mp4 in the current folder, "
        "which it cannot (.: output folder is not writable): run it in a folder of yours, or give --out FILE\n"
    )
    assert list(tmp_path.iterdir()) == []
