"""Hunt 31 (streams): inputs named by a network URI.

- A password typed with an '@' in it (``rtsp://admin:p@ss@camera/live``, which FFmpeg reads as the
  password 'p@ss') was printed in part: ``rtsp://admin:***@ss@camera/live``; one with a space in it
  was printed whole.
- A stream that could not be opened named its URL twice and called it 'not a readable video'
  ('rtsp://cam/live: stream not reachable (rtsp://cam/live: not a readable video (Connection
  refused))'); a server that never answered read 'Invalid data found when processing input'
  (RTSP) and a host name that does not resolve 'Input/output error'.
- A clip on a web server whose server went away (or stalled) mid-download ended with status 0,
  '20 damaged packets skipped' and 'the file is cut short or damaged': nothing was damaged, the
  connection was lost. It is now said so, as a reading error (status 2, the frames so far kept).
- udp://, tcp:// and rtp:// (MPEG-TS pushed by ffmpeg, OBS, an encoder box) were 'unknown input
  scheme'; a UDP sender that stopped read '20 damaged packets skipped'.
- ``file://clip.mp4`` (jetson-utils' name for a file, input or output) was 'unknown input scheme'.
"""

from __future__ import annotations

import contextlib
import errno
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from adversarial import RUN_FAST, cli
from media import make_clip, probe

from deepphoto.commands.console import without_password
from deepphoto.errors import DeepPhotoError
from deepphoto.stream import video_container, video_file
from deepphoto.stream.sources import open_source


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("rtsp://admin:p@ss@cam/live: refused", "rtsp://admin:***@cam/live: refused"),
        ("rtsp://admin:a@b@c@10.0.0.5:554/live", "rtsp://admin:***@10.0.0.5:554/live"),
        ("rtsp://cam:554/live, mail me at a@b.org", "rtsp://cam:554/live, mail me at a@b.org"),
    ],
)
def test_a_password_with_an_at_sign_is_hidden_whole(text: str, shown: str) -> None:
    assert without_password(text) == shown


def test_an_unreachable_stream_never_shows_a_password_with_an_at_sign(capsys, tmp_path) -> None:
    uri = f"rtsp://viewer:top@secret@127.0.0.1:{_closed_port()}/live"
    done = cli(capsys, "run", uri, tmp_path / "out.mp4", "--max-frames", "1", *RUN_FAST)
    assert done.status == 2
    assert "secret" not in done.err + done.out, done.err
    assert "viewer:***@127.0.0.1" in done.err, done.err


def test_a_password_with_a_space_in_it_is_hidden_whole(capsys, tmp_path) -> None:
    """FFmpeg takes 'rtsp://viewer:top secret@host/live' (quoted on the command line) as the
    password 'top secret'; the pattern alone stopped at the space: 'viewer:top secret@...' shown."""
    uri = f"rtsp://viewer:top s3cret@127.0.0.1:{_closed_port()}/live"
    done = cli(capsys, "run", uri, tmp_path / "out.mp4", "--max-frames", "1", *RUN_FAST)
    assert done.status == 2
    assert "s3cret" not in done.err + done.out, done.err
    assert "viewer:***@127.0.0.1" in done.err, done.err


# ---------------------------------------------------------------- a stream that cannot be opened


def test_a_refused_connection_names_the_url_once_with_the_reason() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/live.ts"
    with pytest.raises(DeepPhotoError) as caught:
        open_source(url)
    assert str(caught.value) == f"{url}: stream not reachable (Connection refused)"


def test_a_server_that_never_answers_is_said_to_give_no_answer() -> None:
    exc = video_container.av.error.InvalidDataError(errno.EINVAL, "Invalid data found when processing input")
    assert video_container.unreachable("rtsp://cam/live", exc, video_container.OPEN_TIMEOUT) == "no answer in 10 s"
    assert video_container.unreachable("rtsp://cam/live", exc, 0.2) == "Invalid data found when processing input"


def test_a_host_that_does_not_resolve_is_named(monkeypatch) -> None:
    def nowhere(*_args: object, **_kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(video_container.socket, "getaddrinfo", nowhere)
    exc = OSError(errno.EIO, "Input/output error")
    assert video_container.unreachable("http://camera.invalid/x.ts", exc, 0.3) == "host camera.invalid not found"


# ---------------------------------------------------------------- a server lost mid-download


@pytest.fixture
def dying_server(tmp_path):
    """An HTTP server of one clip that sends its first third, then closes the connection (its
    later requests answered likewise: the server went away)."""
    clip = make_clip(tmp_path / "clip.mkv", frames=150, size=(96, 64))
    data = clip.read_bytes()

    class Dying(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "video/x-matroska")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 3])
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    with serving(Dying) as url:
        yield f"{url}/clip.mkv"


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


def test_a_clip_whose_server_goes_away_says_the_connection_was_lost(capsys, tmp_path: Path, dying_server) -> None:
    out = tmp_path / "out.mp4"
    done = cli(capsys, "run", dying_server, out, *RUN_FAST, "--effect", "grey")
    assert done.status == 2, done.err
    assert len(done.errors) == 1, done.err
    line = done.errors[0]
    assert "the connection to the server was lost" in line and "what was done is in" in line, line
    assert "damaged" not in done.err + done.out, done.err
    frames = probe(out)["frames"]
    assert 0 < frames < 150  # the frames before the loss, in a playable file


# ---------------------------------------------------------------- udp:// and file://


@pytest.fixture
def udp_sender(tmp_path):
    """MPEG-TS datagrams of a clip sent, over and over, to a local port (as 'ffmpeg -f mpegts
    udp://...' or OBS sends them); the sender stops when ``stop`` is set."""
    data = make_clip(tmp_path / "clip.ts", frames=25, size=(96, 64)).read_bytes()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    stop = threading.Event()

    def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            while not stop.is_set():
                for at in range(0, len(data), 1316):
                    out.sendto(data[at : at + 1316], ("127.0.0.1", port))
                    stop.wait(0.002)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    yield f"udp://127.0.0.1:{port}", stop
    stop.set()
    thread.join()


def test_a_udp_stream_is_read_live_and_its_end_is_said(monkeypatch, udp_sender) -> None:
    """udp:// was 'unknown input scheme'; a sender that stops is 'no data in N s' (it read
    '20 damaged packets skipped'), then retried as any live source is."""
    from deepphoto.stream.sources import SourceLost

    monkeypatch.setattr(video_file, "OPEN_TIMEOUT", 2.0)
    monkeypatch.setattr(video_container, "OPEN_TIMEOUT", 2.0)
    url, stop = udp_sender
    source = open_source(url)
    try:
        assert source.live
        frames = iter(source)
        first = [next(frames) for _ in range(5)]
        assert all(f.image.shape == (64, 96, 3) for f in first)
        stop.set()
        with pytest.raises(SourceLost, match=r"udp://127\.0\.0\.1:\d+: .*no data in 2 s"):
            for _ in frames:
                pass
        assert source.reader.bad_packets == 0
    finally:
        source.close()


def test_local_names_of_file_uris() -> None:
    from deepphoto.stream.sources import local_name

    assert local_name("file:///home/me/My%20Clip.mp4") == "/home/me/My Clip.mp4"
    assert local_name("file://clip.mp4") == "clip.mp4"
    assert local_name("file://localhost/srv/c.mp4") == "/srv/c.mp4"
    assert local_name("rtsp://cam/a%20b") == "rtsp://cam/a%20b"
    assert local_name("clip%20x.mp4") == "clip%20x.mp4"


def test_files_named_as_jetson_utils_names_them(capsys, tmp_path: Path) -> None:
    """'run file://clip.mp4 file://out.mp4' (videoSource and videoOutput's names for files) was
    'unknown input scheme'; the output is still never the input, however it is named."""
    clip = make_clip(tmp_path / "my clip.mp4", frames=6)
    out = tmp_path / "styled clip.mp4"
    done = cli(capsys, "run", f"file://{tmp_path}/my%20clip.mp4", f"file://{out}", *RUN_FAST, "--effect", "grey")
    assert done.status == 0, done.err
    assert probe(out)["frames"] == 6
    before = clip.read_bytes()
    done = cli(capsys, "run", f"file://{clip}", clip, *RUN_FAST, "--effect", "grey", "--overwrite")
    assert done.status == 2 and "is the input" in done.err, done.err
    assert clip.read_bytes() == before
