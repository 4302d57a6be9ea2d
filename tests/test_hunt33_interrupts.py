"""Hunt 33 (interrupts): signals, full disks and sources that die, at every moment of a job."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest


@pytest.fixture
def sighup_ignored():
    """SIGHUP ignored, as ``nohup`` starts a command; put back afterwards."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGHUP, previous)


def test_a_signal_the_process_was_started_to_ignore_does_not_stop_a_job(sighup_ignored) -> None:
    """'nohup deepphoto run long.mp4 out.mp4 &', then the terminal closed: the job was stopped by
    the SIGHUP nohup had set it to ignore (82 of 150 frames, status 130). It stays ignored now;
    the other signals still stop it."""
    from deepphoto.stream.stopping import ending_signals, stop_asked

    stopped = False
    try:
        with ending_signals():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)  # a handler raises KeyboardInterrupt here
    except KeyboardInterrupt:
        stopped = True
    assert not stopped and not stop_asked()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    with pytest.raises(KeyboardInterrupt), ending_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)


def test_nohup_serve_outlives_its_terminal(sighup_ignored, monkeypatch) -> None:
    """'nohup deepphoto serve --host 0.0.0.0 &': closing the terminal stopped the studio, whose
    own SIGHUP handler replaced the one nohup left (ignore)."""
    import deepphoto.web.server as server
    from deepphoto.web.app import StudioConfig

    class Served:
        should_exit = False

        def run(self, sockets: list) -> None:
            os.kill(os.getpid(), signal.SIGHUP)  # the terminal closed while it serves
            time.sleep(0.05)

    served = Served()
    monkeypatch.setattr(server, "uvicorn_server", lambda app, tls=None: served)
    server.serve(StudioConfig(warm=False), 0)
    assert not served.should_exit
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN


def _another_disk(tmp_path: Path) -> Path:
    """A folder on another file system than ``tmp_path`` (/dev/shm, a RAM disk), or a skip."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK) or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a second file system: /dev/shm, writable, on another device than the temporary folder")
    return Path(tempfile.mkdtemp(dir=shm, prefix="deepphoto-hunt33-"))


@pytest.fixture
def other_disk(tmp_path):
    folder = _another_disk(tmp_path)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_batch_output_on_another_disk_than_the_work_folder(tmp_path, other_disk) -> None:
    """'deepphoto batch trip1 trip2 --out styled' with styled/trip1 a disk of its own (mounted
    there): every photo of trip1, and each short video without sound (one chunk), failed with
    'cannot be written (Invalid cross-device link)': the finished file was renamed from --out's
    hidden work folder, on the other disk. It is copied across now, complete or absent."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto import Settings
    from deepphoto.batch.inputs import WorkItem
    from deepphoto.batch.manifest import Manifest
    from deepphoto.batch.runner import BatchOptions, BatchRunner, ItemState, Task

    out = tmp_path / "styled"
    out.mkdir()
    runner = BatchRunner([], Settings(effect="grey", region="whole"), BatchOptions(out=out))
    runner.work = runner.out / ".deepphoto-batch" / "host-1"
    runner.manifest, runner.digests = Manifest(runner.out), {"image": "d"}
    source = tmp_path / "p.jpg"
    source.write_bytes(b"a photo")
    item = WorkItem(source, other_disk / "p.png", "image", 7, 1)
    st = runner.states[0] = ItemState(item)
    made = runner.work / "000000" / "image.png"
    made.parent.mkdir(parents=True)
    made.write_bytes(b"the painted photo")
    runner._finish(st, Task(0, -1), made, 1, "")
    assert runner.outcomes[item.key].status == "done", runner.outcomes[item.key].reason
    assert item.output.read_bytes() == b"the painted photo"
    assert os.listdir(other_disk) == ["p.png"] and not (runner.work / "000000").exists()


def test_a_joined_video_of_one_chunk_moves_to_another_disk(tmp_path, other_disk) -> None:
    """The same for a video of one chunk, no sound: the chunk itself is the output."""
    from media import make_clip

    from deepphoto.batch.join import finish_video

    chunk = make_clip(tmp_path / "chunk-00000.mp4", frames=6)
    made = chunk.read_bytes()
    out = other_disk / "clip.mp4"
    assert finish_video([chunk], [0], None, None, out) == ""
    assert out.read_bytes() == made and os.listdir(other_disk) == ["clip.mp4"]


def test_moving_into_place_on_a_full_disk_leaves_nothing(tmp_path, monkeypatch) -> None:
    """Copied across disks, a full one leaves no half file beside the output."""
    import errno

    from deepphoto.stream import output_safety

    made, out = tmp_path / "work" / "image.png", tmp_path / "out" / "p.png"
    made.parent.mkdir()
    out.parent.mkdir()
    made.write_bytes(b"x" * 1000)

    def across(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    def full(src: object, dst: object) -> None:
        Path(dst).write_bytes(b"x" * 10)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output_safety.os, "replace", across)
    monkeypatch.setattr(output_safety.shutil, "copyfile", full)
    with pytest.raises(OSError, match="No space"):
        output_safety.move_into_place(made, out)
    assert os.listdir(out.parent) == [] and made.exists()


SIGNAL_WHILE_A_QUEUE_IS_LOCKED = """
import os, signal, threading, time
import numpy as np
from deepphoto.stream import queues
from deepphoto.stream.loop import run_stream
from deepphoto.stream.processor import StageTimes
from deepphoto.stream.sinks import NullSink
from deepphoto.stream.sources import Synthetic
from deepphoto.stream.stopping import ending_signals

class Passing:
    times = StageTimes()
    def __call__(self, image):
        return image

put, sent = queues.FrameQueue.put, []

def put_as_ctrl_c_lands(self, item, *args, **kwargs):
    if threading.current_thread() is threading.main_thread() and not sent:
        sent.append(1)
        self._cv.acquire()  # the main thread has just taken the writer's queue's lock ...
        os.kill(os.getpid(), signal.SIGINT)  # ... when Ctrl-C lands, before the code that releases it
        time.sleep(0.05)
        self._cv.release()
    return put(self, item, *args, **kwargs)

queues.FrameQueue.put = put_as_ctrl_c_lands
with ending_signals():
    summary = run_stream(Synthetic((32, 24), fps=30, frames=50), NullSink(), Passing(), progress=False)
print("interrupted" if summary.interrupted else "not interrupted", summary.frames_out)
"""


def test_ctrl_c_landing_while_the_main_thread_holds_a_queue_lock_ends_the_job(tmp_path) -> None:
    """Ctrl-C at the wrong moment hung 'deepphoto run' for ever (found once in 50 runs signalled at
    random moments): its KeyboardInterrupt was raised right after the main thread had taken the
    lock of the writer's queue, before the 'with' block that releases it, so the writer waited for
    the lock, the main thread waited for the writer, every later signal was held, and the
    temporary video stayed. A stop is read between the loop's steps now, never raised amid them."""
    import subprocess
    import sys

    script = tmp_path / "ctrl_c.py"
    script.write_text(SIGNAL_WHILE_A_QUEUE_IS_LOCKED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the job hung after Ctrl-C")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("interrupted"), done.stdout + done.stderr


def test_a_stop_is_forgotten_once_the_outermost_block_ends() -> None:
    """A stop was remembered after its block had ended: a library caller's next Pipeline.run (or
    any run_stream in the process) was taken for stopped at its first frame. Inside a nested block
    (Pipeline.run's inside the command line's) it is kept, so the rest of the burst is ignored."""
    from deepphoto.stream.stopping import ending_signals, stop_asked

    with ending_signals():
        try:
            with ending_signals():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        assert stop_asked()  # still the job's ending: a second signal is ignored, not raised
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    assert not stop_asked()
