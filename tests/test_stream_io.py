"""Queues, live sources, the virtual camera sink and interruption of a running file job."""

import os
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction

import numpy as np
import pytest
from media import make_clip, probe

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.queues import END, FrameQueue
from deepphoto.stream.sinks import VirtualCameraSink, open_sink
from deepphoto.stream.sources import Synthetic, open_source
from deepphoto.stream.video_file import Frame


def test_live_queue_keeps_only_the_newest():
    q = FrameQueue(2, drop_oldest=True)
    for i in range(10):
        q.put(i)  # never blocks
    assert q.dropped == 8
    q.close()
    assert [q.get(), q.get(), q.get()] == [8, 9, END]


def test_file_queue_blocks_and_loses_nothing():
    q = FrameQueue(2, drop_oldest=False)
    got = []

    def consume():
        while (item := q.get()) is not END:
            got.append(item)
            time.sleep(0.001)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(50):
        q.put(i)
    q.close()
    t.join(5)
    assert got == list(range(50)) and q.dropped == 0 and q.high_water <= 2


def test_synthetic_source_is_live_and_paced():
    src = Synthetic((64, 48), fps=100, frames=10)
    start = time.monotonic()
    frames = list(src)
    assert src.live and len(frames) == 10 and frames[0].image.shape == (48, 64, 3)
    assert time.monotonic() - start >= 0.08


class FakeCamera:
    instances = []

    def __init__(self, width, height, fps, device=None):
        self.width, self.height, self.fps, self.device = width, height, fps, device or "/dev/video9"
        self.sent, self.closed = [], False
        FakeCamera.instances.append(self)

    def send(self, frame):
        assert frame.shape == (self.height, self.width, 3) and frame.dtype == np.uint8
        self.sent.append(frame.copy())

    def close(self):
        self.closed = True


def test_virtual_camera_sink_sends_every_frame_in_bgr():
    sink = VirtualCameraSink(None, 30.0, camera_factory=FakeCamera)
    for i in range(3):
        sink.write(np.full((48, 64, 3), i, np.uint8), Frame(np.zeros((1, 1, 3), np.uint8), None, None))
    sink.close()
    cam = FakeCamera.instances[-1]
    assert len(cam.sent) == 3 and cam.closed and (cam.width, cam.height, cam.fps) == (64, 48, 30.0)
    assert cam.sent[2][0, 0, 0] == 2


def test_real_virtual_camera_or_a_clear_hint():
    pytest.importorskip("pyvirtualcam")
    sink = open_sink("vcam://", Fraction(30))
    frame = Frame(np.zeros((48, 64, 3), np.uint8), None, None)
    has_loopback = any(os.path.exists(f"/dev/video{i}") for i in range(100))
    if has_loopback:
        sink.write(frame.image, frame)
        assert sink.close() is not None
    else:
        with pytest.raises(DeepPhotoError, match="modprobe v4l2loopback"):
            sink.write(frame.image, frame)


@pytest.mark.parametrize(
    "uri,message",
    [
        ("/dev/video77", "camera not found"),
        ("csi://0", "GStreamer"),
        ("ftp://x", "unknown input scheme"),
    ],
)
def test_sources_that_cannot_open_say_why(uri, message):
    with pytest.raises(DeepPhotoError, match=message):
        open_source(uri)


def test_display_without_gui_or_display_says_why():
    with pytest.raises(DeepPhotoError, match="display"):
        open_sink("display://0", Fraction(30))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_file_job_leaves_a_playable_file(tmp_path, sig):
    src = make_clip(tmp_path / "long.mp4", frames=400, size=(320, 240))
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepphoto.cli", "run", str(src), str(out), "--quiet", "--effect", "cartoon"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.partial*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # some frames written
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout
    got = probe(out)
    assert 0 < got["frames"] < 400
    assert f"{got['frames']} frames" in stdout
    assert not list(tmp_path.glob(".out.partial*"))
