"""Hunt 33 (netstreams): network and live sources read by ``deepphoto run`` and ``Pipeline.run``.

- A live network stream's frames come in bursts (those FFmpeg reads while it opens the stream, an
  HLS playlist's segments, fetched whole): each burst was written a millisecond a frame, then its
  last frame held (a live HLS stream of 2-s segments recorded as a flash of 50 frames, then 1.9 s
  still), and the live queue dropped most of them as stale. The frames are now let go at the pace
  of their own timestamps.
- A live stream's sound (a camera's microphone, a broadcast's) is not recorded, and the recording
  came out silent without a word: it is now said.
- An HLS master playlist was read at its first variant (often the smallest), whatever the others:
  the largest is now read, as FFmpeg's command line picks it.
- A live HLS broadcast that ended (its playlist given its end) came back, when reconnected, as a
  file: it was read again from its start into the live recording, then again, for ever (an
  output of hours of replays). The run now ends there.
- A server that took the connection and sent nothing read 'stream not reachable (Connection timed
  out)', and one that stopped sending 'the connection to the server was lost: Connection timed
  out': now 'no answer in 5 s' and 'no data in 5 s'.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import socket
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli
from media import encode_into, make_clip, probe

from deepphoto.errors import DeepPhotoError
from deepphoto.stream import video_container, video_file
from deepphoto.stream.sources import NetworkStream, SourceLost, open_source
from deepphoto.stream.video_file import SourceFrame


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """An HTTP server on a free local port answering with ``handler``, for the block: its address."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(c.streams.video[0])]


# ---------------------------------------------------------------- a live stream's bursts


class FakeClock:
    """A clock that moves only when slept on, or when ``late`` says a frame took that long to come."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


class BurstReader:
    """Frames of a 25 fps stream, all at hand at once (a burst); ``stall``: frame index -> seconds
    the network held it back."""

    fps = Fraction(25)

    def __init__(self, clock: FakeClock, frames: int, stall: dict[int, float] | None = None, pts=None) -> None:
        self.clock, self.frames, self.stall = clock, frames, stall or {}
        self.pts = pts or list(range(frames))

    def __iter__(self) -> Iterator[SourceFrame]:
        for i in range(self.frames):
            self.clock.now += self.stall.get(i, 0.0)
            yield SourceFrame(np.zeros((4, 4, 3), np.uint8), self.pts[i], Fraction(1, 25))

    def close(self) -> None:
        pass


def _yield_times(clock: FakeClock, reader: BurstReader, count: int) -> list[float]:
    stream = NetworkStream("http://camera/live.ts", reader, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    frames = iter(stream)
    times = []
    for _ in range(count):
        next(frames)
        times.append(round(clock.now - 100.0, 6))
    return times


def test_a_burst_of_a_live_stream_is_let_go_at_the_pace_of_its_timestamps() -> None:
    clock = FakeClock()
    times = _yield_times(clock, BurstReader(clock, 10), 10)
    assert times == [round(0.04 * i, 6) for i in range(10)]


def test_a_stall_is_kept_as_a_pause_and_the_pace_goes_on_after_it() -> None:
    clock = FakeClock()
    times = _yield_times(clock, BurstReader(clock, 6, stall={3: 2.0}), 6)
    assert times == [0.0, 0.04, 0.08, 2.08, 2.12, 2.16]  # held back 2 s after frame 2


def test_a_jump_in_the_timestamps_starts_the_count_again() -> None:
    """A stream started again (its clock back to 0) or a wrapped clock is not waited for."""
    clock = FakeClock()
    pts = [90000, 90001, 90002, 0, 1, 5000]  # back to 0, then 200 s on
    times = _yield_times(clock, BurstReader(clock, 6, pts=pts), 6)
    assert times == [0.0, 0.04, 0.08, 0.08, 0.12, 0.12]


def test_a_live_stream_received_in_a_burst_is_recorded_at_its_own_pace(capsys, tmp_path: Path) -> None:
    """25 frames of MPEG-TS (1 s at 25 fps) served at once, with no length, the connection then
    kept open (a live stream): they were written within a few milliseconds (10 frames in 0.1 s)."""
    out = tmp_path / "out.mp4"
    with live_ts(make_clip(tmp_path / "clip.ts", frames=25).read_bytes()) as url:
        done = cli(capsys, "run", url, out, "--max-frames", "10", *RUN_FAST, "--effect", "grey")
    assert done.status == 0, done.err
    times = frame_times(out)
    assert len(times) >= 5, times  # a live queue may drop a frame when the machine is busy
    # each frame is let go no sooner than its moment, 0.04 s after the one before (a frame dropped
    # by a busy machine only widens the span)
    assert times[-1] - times[0] >= 0.035 * (len(times) - 1), times


@contextlib.contextmanager
def live_ts(data: bytes) -> Iterator[str]:
    """An HTTP server sending ``data`` (MPEG-TS) at once, with no length, then keeping the
    connection open (a live stream, as far as a reader can tell), for the block: its URL."""
    done_serving = threading.Event()

    class Live(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # no length: the stream ends when the connection closes

        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            done_serving.wait(30)  # more to come

        def log_message(self, *args: object) -> None:
            pass

    with serving(Live) as url:
        try:
            yield f"{url}/live.ts"
        finally:
            done_serving.set()


# ---------------------------------------------------------------- what a live recording leaves out


def test_a_live_streams_sound_left_out_of_its_recording_is_said(capsys, tmp_path: Path) -> None:
    """A live stream's sound (a camera's microphone, a broadcast) is not recorded: the recording
    came out silent without a word."""
    out = tmp_path / "out.mp4"
    with live_ts(make_clip(tmp_path / "clip.ts", frames=25, audio=True).read_bytes()) as url:
        done = cli(capsys, "run", url, out, "--max-frames", "3", *RUN_FAST, "--effect", "grey")
    assert done.status == 0, done.err
    assert not probe(out)["audio"]
    assert done.warnings == [
        f"deepphoto: warning: {url}: its sound is not recorded (a live stream is recorded as picture only)"
    ]


def test_a_silent_live_stream_or_one_not_recorded_says_nothing_of_sound(capsys, tmp_path: Path) -> None:
    with live_ts(make_clip(tmp_path / "clip.ts", frames=25, audio=True).read_bytes()) as url:
        done = cli(capsys, "run", url, "null://", "--max-frames", "3", *RUN_FAST, "--effect", "grey")
    assert done.status == 0 and not done.warnings, done.err
    with live_ts(make_clip(tmp_path / "silent.ts", frames=25).read_bytes()) as url:
        done = cli(capsys, "run", url, tmp_path / "out.mp4", "--max-frames", "3", *RUN_FAST, "--effect", "grey")
    assert done.status == 0 and not done.warnings, done.err


# ---------------------------------------------------------------- an HLS master playlist


def _hls_variant(folder: Path, size: tuple[int, int], frames: int = 10) -> None:
    """A VOD HLS playlist (index.m3u8 and its segments) of ``frames`` frames at ``size``."""
    folder.mkdir()
    w, h = size
    with av.open(str(folder / "index.m3u8"), "w", format="hls", options={"hls_time": "1", "hls_list_size": "0"}) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        frames_made = []
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((h, w, 3), 40 + 2 * i % 200, np.uint8), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            frames_made.append(frame)
        encode_into(out, stream, frames_made)


def test_an_hls_master_playlist_is_read_at_its_largest_variant(capsys, tmp_path: Path) -> None:
    """Of a master playlist's variants (160x120 listed first, then 320x240: 96x64 and 192x128
    here), the first was recorded, whatever the others; FFmpeg's command line takes the largest."""
    site = tmp_path / "site"
    site.mkdir()
    _hls_variant(site / "low", (96, 64))
    _hls_variant(site / "high", (192, 128))
    (site / "master.m3u8").write_text(
        "#EXTM3U\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=96x64\nlow/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=192x128\nhigh/index.m3u8\n"
    )
    handler = functools.partial(Quiet, directory=str(site))
    out = tmp_path / "out.mp4"
    with serving(handler) as url:  # type: ignore[arg-type]
        done = cli(capsys, "run", f"{url}/master.m3u8", out, *RUN_FAST, "--effect", "grey")
    assert done.status == 0, done.err
    assert probe(out)["size"] == (192, 128)
    assert probe(out)["frames"] == 10


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


# ---------------------------------------------------------------- a live HLS broadcast that ends


def test_a_live_hls_broadcast_that_ends_ends_the_run(capsys, tmp_path: Path) -> None:
    """A playlist served live (no end) at first, then with its end (the broadcast over): the
    reconnection read it as a file, from its start, again and again (400 frames of 100 here)."""
    site = tmp_path / "site"
    site.mkdir()
    _hls_variant(site / "live", (96, 64), frames=100)  # 4 segments of 1 s
    playlist = (site / "live" / "index.m3u8").read_text()
    asked: list[int] = []

    class Broadcast(Quiet):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            if not self.path.endswith(".m3u8"):
                return super().do_GET()
            asked.append(1)
            body = (playlist if len(asked) > 1 else playlist.replace("#EXT-X-ENDLIST", "")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.apple.mpegurl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None

    handler = functools.partial(Broadcast, directory=str(site))
    out = tmp_path / "out.mp4"
    with serving(handler) as url:  # type: ignore[arg-type]
        done = cli(capsys, "run", f"{url}/live/index.m3u8", out, "--max-frames", "400", *RUN_FAST, "--effect", "grey")
    assert done.status == 0, done.err
    assert "the stream has ended" in done.err, done.err
    frames = probe(out)["frames"]
    assert 0 < frames < 150, frames  # at most the broadcast once (and a "camera lost" frame)


# ---------------------------------------------------------------- a server that goes quiet


@pytest.fixture
def short_read_timeout(monkeypatch) -> None:
    monkeypatch.setattr(video_container, "READ_TIMEOUT", 1.0, raising=False)
    monkeypatch.setattr(video_file, "READ_TIMEOUT", 1.0, raising=False)


def test_a_server_that_takes_the_connection_and_sends_nothing_gave_no_answer(short_read_timeout) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        url = f"tcp://127.0.0.1:{listening.getsockname()[1]}"
        with pytest.raises(DeepPhotoError) as caught:
            open_source(url)
    assert str(caught.value) == f"{url}: stream not reachable (no answer in 1 s)"


def test_a_stream_that_stops_sending_is_said_to_have_sent_no_data(short_read_timeout, tmp_path: Path) -> None:
    with live_ts(make_clip(tmp_path / "clip.ts", frames=25).read_bytes()) as url:
        source = open_source(url)
        try:
            with pytest.raises(SourceLost) as caught:
                for _ in source:
                    pass
        finally:
            source.close()
    assert str(caught.value) == f"{url}: the connection to the server was lost: no data in 1 s"
