"""Review of hunt 31's video reading and writing (review 31).

- A web address that answers at once with what is not a video (a web page) was said to be 'stream
  not reachable (Invalid data found when processing input)': the server had answered. It is 'not a
  readable video' again, as before hunt 31; a server that never answers is still 'no answer in 10 s'.
"""

from __future__ import annotations

import http.server
import threading

import pytest

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.sources import open_source


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
