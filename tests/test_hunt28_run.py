"""Hunt 28, ``run`` and ``batch`` as a demanding user uses them. What was wrong:

- ``batch`` onto a disk that is full: the worker's chunk write failed, and the failed chunk was then
  closed as if complete: the encoder flushed into the container the failed write left behind, and
  FFmpeg crashed the worker (a segmentation fault). The batch printed Ray's "A worker died or was
  killed" dumps, tried three workers, and said "worker lost (ActorDiedError) (after 3 tries)", never
  that the disk was full (``run`` says it). A failed chunk is now given up, not finalised.
- The progress bar was drawn into a file or a pipe (``deepphoto run ... 2> run.log``, a service's
  journal, CI): a carriage return and a redraw in block characters every few frames, one line of
  garbage in the log for each. It is drawn on a terminal only, by ``run`` and ``batch`` alike.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from adversarial import DEEPPHOTO, FAST, leftovers
from media import make_clip

from deepphoto.errors import progress_shown

GREY = ["--effect", "grey"]


@pytest.fixture
def full_disk(tmp_path):
    """A real file system (tmpfs, 64 KiB) filled to the last byte: a real ENOSPC. Needs root."""
    mount = tmp_path / "full"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    try:
        with open(mount / "filler", "wb") as f:
            f.write(b"\0" * (1 << 20))
    except OSError:
        pass  # full
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


# A batch worker's call, in a process of its own (a crash must fail the test, not end pytest).
CHUNK_ONTO = """
import sys
from pathlib import Path
from deepphoto.batch.chunks import plan_video, render_chunk
from deepphoto.errors import DeepPhotoError
from deepphoto.pipeline import Pipeline
from deepphoto.settings import Settings

plan = plan_video(Path(sys.argv[1]), 60.0, 0.0)
settings = Settings.create(effect="grey", backend="onnx", precision="fp32", seg_input=(64, 64), threads=1)
with Pipeline(settings) as pipe:
    try:
        render_chunk(pipe, plan, plan.chunks[0], Path(sys.argv[2]))
    except DeepPhotoError as exc:
        print(exc)
"""


def test_a_chunk_written_onto_a_full_disk_says_so_and_does_not_crash_the_worker(tmp_path, full_disk):
    clip = make_clip(tmp_path / "in.mp4", frames=10)
    out = full_disk / "chunk.mp4"
    done = subprocess.run(
        [sys.executable, "-c", CHUNK_ONTO, str(clip), str(out)], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # was -11: a segmentation fault
    assert "the disk is full" in done.stdout and str(out) in done.stdout, done.stdout
    assert not out.exists() and leftovers(full_disk) == []


def test_no_progress_bar_into_a_log_file(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=12)
    out = tmp_path / "out.mp4"
    with open(tmp_path / "run.log", "w") as log:  # 2> run.log
        done = subprocess.run(
            [*DEEPPHOTO, "run", str(clip), str(out), *FAST, *GREY], stdout=subprocess.PIPE, stderr=log, timeout=240
        )
    said = (tmp_path / "run.log").read_text()
    assert done.returncode == 0, said
    assert "\r" not in said and "frame/s" not in said and "|" not in said, repr(said)
    assert b"12 frames" in done.stdout


def test_the_progress_bar_is_drawn_on_a_terminal_only(monkeypatch, tmp_path):
    leader, follower = os.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as terminal:
            monkeypatch.setattr(sys, "stderr", terminal)
            assert progress_shown(True)
            assert not progress_shown(False)  # --quiet
        with open(tmp_path / "log", "w") as log:
            monkeypatch.setattr(sys, "stderr", log)
            assert not progress_shown(True)
        monkeypatch.setattr(sys, "stderr", None)  # started without one
        assert not progress_shown(True)
    finally:
        os.close(leader)
        os.close(follower)


def test_batch_draws_no_progress_bar_into_a_log_file(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=8)
    with open(tmp_path / "batch.log", "w") as log:
        done = subprocess.run(
            [*DEEPPHOTO, "batch", str(clip), "--out", str(tmp_path / "out"), *FAST, *GREY]
            + ["--workers", "1", "--cpus-per-worker", "0.5"],
            stdout=subprocess.PIPE,
            stderr=log,
            timeout=300,
        )
    said = (tmp_path / "batch.log").read_text()
    assert done.returncode == 0, said
    assert "\r" not in said and "frame/s" not in said, repr(said[:500])
    assert (tmp_path / "out" / "in.mp4").is_file()
