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
from deepphoto.stream.frame import Frame
from deepphoto.stream.queues import END, FrameQueue
from deepphoto.stream.sinks import VirtualCameraSink, open_sink
from deepphoto.stream.sources import Synthetic, open_source


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


@pytest.mark.parametrize(("live", "period"), [(True, 0.25), (True, 1 / 60), (False, 0.25)])
def test_a_live_recording_plays_at_the_speed_it_was_filmed(tmp_path, live, period):
    """A camera's frames carry no timestamps and arrive at 4 fps (a slow pipeline) or at 60 fps
    (a camera that says 30): a recording of them lasts as long as the filming did, not frames /
    nominal fps. A file's frames without timestamps (an image folder) keep the nominal clock."""
    out = tmp_path / "rec.mp4"
    sink = open_sink(str(out), Fraction(30), None, overwrite=True, live=live)
    img = np.zeros((48, 64, 3), np.uint8)
    n = 9 if period > 0.1 else 120
    for i in range(n):
        img[:, :] = (20 * i) % 250
        sink.write(img, Frame(img, None, None, arrival=100.0 + period * i))
    sink.close()
    got = probe(out)
    assert got["frames"] == n
    filmed = (n - 1) * period
    assert got["duration"] == pytest.approx(filmed if live else n / 30, abs=0.06)


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
        [sys.executable, "-m", "deepphoto.commands.cli", "run", str(src), str(out), "--quiet", "--effect", "cartoon"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.*partial*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # some frames written
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout
    got = probe(out)
    assert 0 < got["frames"] < 400
    assert f"{got['frames']} frames" in stdout
    assert not list(tmp_path.glob(".out.*partial*"))


class VanishingCamera:
    """A fake live camera: a few frames, then it is unplugged."""

    live = True
    fps = Fraction(30)
    time_base = None
    frame_count = 0
    audio_path = None

    def __init__(self, session, frames=5):
        self.session, self.frames, self.closed = session, frames, False

    def __iter__(self):
        from deepphoto.stream.sources import SourceLost

        for _ in range(self.frames):
            time.sleep(0.005)  # paced, as a camera is
            yield Frame(np.full((48, 64, 3), 50 * self.session, np.uint8), None, None)
        raise SourceLost("fake camera: unplugged")

    def close(self):
        self.closed = True


def test_live_source_that_vanishes_and_comes_back():
    from deepphoto.segmenters.lightnet import LightNetSegmenter
    from deepphoto.stream.effects import make_effect
    from deepphoto.stream.loop import run_stream
    from deepphoto.stream.processor import FrameProcessor, Look
    from deepphoto.stream.sinks import NullSink

    attempts = []

    def reopen():
        attempts.append(1)
        if len(attempts) == 1:
            raise DeepPhotoError("fake camera: not there yet")
        return VanishingCamera(session=2, frames=1000)

    class Recording(NullSink):
        def __init__(self):
            super().__init__()
            self.images = []

        def write(self, image, frame):
            self.images.append(image)

    sink = Recording()
    processor = FrameProcessor(LightNetSegmenter("onnx"), [Look("grey", make_effect("grey"))], region="whole")
    first = VanishingCamera(session=1)
    summary = run_stream(first, sink, processor, progress=False, max_frames=12, reopen=reopen)
    assert first.closed and len(attempts) == 2
    assert summary.frames_in == 12 and summary.lost >= 1
    grey_levels = [int(img[0, 0, 0]) for img in sink.images]
    assert grey_levels[0] == 50 and grey_levels[-1] == 100  # before, then after reconnecting
    last_before = max(i for i, level in enumerate(grey_levels) if level == 50)
    first_after = grey_levels.index(100)
    assert first_after > last_before + 1
    assert all(level < 50 for level in grey_levels[last_before + 1 : first_after])  # 'camera lost' cards


def test_a_stage_that_fails_on_one_frame_does_not_end_the_run(tmp_path, capsys):
    from deepphoto.segmenters.lightnet import LightNetSegmenter
    from deepphoto.stream.loop import run_stream
    from deepphoto.stream.processor import FrameProcessor, Look

    calls = []

    def flaky(frame):
        calls.append(1)
        if len(calls) in (3, 7):
            raise RuntimeError("boom")
        return frame

    src = make_clip(tmp_path / "in.mp4", frames=10)
    source = open_source(str(src))
    sink = open_sink(str(tmp_path / "out.mp4"), source.fps, source.time_base)
    processor = FrameProcessor(LightNetSegmenter("onnx"), [Look("flaky", flaky)], region="whole")
    summary = run_stream(source, sink, processor, progress=False)
    assert summary.frames_out == 10 and summary.failed == 2
    assert capsys.readouterr().err.count("boom") == 1  # logged once, counted after
    assert probe(tmp_path / "out.mp4")["frames"] == 10


def test_http_file_is_read_as_a_file_and_a_stream_as_a_live_source(tmp_path):
    """A clip on a web server declares its length: every frame once, then the end (issue 17: it
    was replayed for ever as a camera); a live stream (no length) ends with SourceLost, retried."""
    import functools
    import http.server

    from deepphoto.stream.sources import NetworkStream, SourceLost

    make_clip(tmp_path / "c.mp4", frames=10)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/c.mp4"
        source = open_source(url)
        assert not source.live
        frames = list(source)
        assert len(frames) == 10 and frames[0].image.shape == (64, 96, 3)
        source.close()
        live = NetworkStream(url)
        assert live.live
        with pytest.raises(SourceLost, match="stream ended"):
            assert len(list(live)) == 10
        live.close()
    finally:
        server.shutdown()
