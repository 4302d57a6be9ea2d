"""Review of hunt 31's video reading and writing (review 31).

- A web address that answers at once with what is not a video (a web page) was said to be 'stream
  not reachable (Invalid data found when processing input)': the server had answered. It is 'not a
  readable video' again, as before hunt 31; a server that never answers is still 'no answer in 10 s'.
- A Matroska's timecode (a tag of its picture, 'TIMECODE', as FFmpeg and mkvmerge write it) was
  lost: it was looked up as 'timecode' only, and a file without sound whose only extra was its
  timecode was not remuxed at all.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import av
import pytest
from adversarial import RUN_FAST, cli
from media import make_clip

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.sources import open_source

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]


@pytest.fixture
def web_page():
    """An HTTP server that answers every request with a small web page."""
    page = b"<html><body>not a video</body></html>"

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/watch.html"
    server.shutdown()
    server.server_close()


def test_a_web_page_is_not_a_readable_video_not_an_unreachable_stream(web_page) -> None:
    with pytest.raises(DeepPhotoError) as caught:
        open_source(web_page)
    said = str(caught.value)
    assert said.startswith(f"{web_page}: not a readable video ("), said
    assert "not reachable" not in said


def matroska_with_timecode(path: Path) -> Path:
    """A clip without sound whose picture carries a timecode, as a Matroska stores it (a tag)."""
    clip = make_clip(path.with_name("plain.mp4"), frames=10)
    with av.open(str(clip)) as src, av.open(str(path), "w") as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        out.metadata["timecode"] = "10:00:00:00"
        for packet in src.demux(stream):
            if packet.size:
                packet.stream = out
                dst.mux(packet)
    with av.open(str(path)) as c:
        assert "TIMECODE" in c.streams.video[0].metadata  # as the file holds it
    return path


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_a_matroskas_timecode_is_kept(capsys, tmp_path: Path, suffix: str) -> None:
    source = matroska_with_timecode(tmp_path / "camera.mkv")
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    with av.open(str(out)) as c:
        said = {str(v) for s in c.streams for k, v in s.metadata.items() if k.lower() == "timecode"}
    assert said == {"10:00:00:00"}
