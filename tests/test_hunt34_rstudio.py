"""DeepPhoto Studio (hunt 34, review of hunt 32's studio fixes): what a user of ``deepphoto serve``
still hit, in Debian's chromium driven by Playwright.

- Hunt 32 pinned the photo of a short window "also a phone on its side", but only up to 800 wide:
  an iPhone on its side is 844x390 (a Pixel's 915x412, a Pro Max's 932x430), laid out as a desktop,
  the photo beside the controls and not pinned: scrolled down to Best quality or Where, the photo
  was off the screen while its look changed. A short window up to 1000 wide is laid out as a narrow
  one now, the photo pinned over the controls.
- Hunt 32's page asked again every 2 s for a best-quality job the server did not answer about, and
  for ever: with the server stopped, 'Waiting for the server to answer...' for hours, Start disabled,
  though the server lets a page's job go 4 heartbeats after it last heard of it. After 6 heartbeats
  (90 s) without an answer the page gives up, says so and gives Start back.
- ``serve --allowed-host fotos.müller.de`` (hunt 32's option for a reverse proxy) was refused as
  "give a host name alone", though it was one: a name with letters beyond ASCII. It is taken in the
  ASCII form the browser sends (``fotos.xn--mller-kva.de``), and the page opens by that name.
- Behind nginx (hunt 32's reverse proxy), which refuses a body over 1 MB unless told more, a phone's
  3 MB photo was refused with 'Payload Too Large' alone (its status text; over HTTP/2, which has
  none, an empty error), under the '25 MB' the page promised. An error answer that is not the
  studio's (its own are JSON) is named as the web server's in front of it; a 413 says what to raise.
- ``serve --https`` behind a reverse proxy that passes requests on in plain http (nginx's
  ``proxy_pass http://127.0.0.1:8000``): hunt 32's redirect of plain http to https sent the browser,
  on https://photos.example.com already, back to https://photos.example.com, until Chromium gave up
  (ERR_TOO_MANY_REDIRECTS, 'redirected you too many times'). A request the proxy says came as https
  (X-Forwarded-Proto, Forwarded) is answered with what to change instead.
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")

SEEN = """(id) => { const r = document.getElementById(id).getBoundingClientRect();
    return r.bottom > 20 && r.top < window.innerHeight - 20; }"""


@pytest.mark.parametrize("width,height", [(844, 390), (932, 430)])
def test_a_phone_on_its_side_keeps_the_photo_in_view_over_its_controls(tmp_path, width, height):
    import cv2
    from conftest import portrait
    from studio_page import background_studio, chromium, studio_page

    photo = cv2.imencode(".jpg", portrait((480, 640)))[1].tobytes()
    phone = {"width": width, "height": height, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    with background_studio() as studio, chromium() as browser, studio_page(browser, studio.url, **phone) as page:
        page.set_input_files("#photo-file", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": photo}])
        page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview')")
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
        for control in ("strength", "best-start"):
            page.evaluate(f"document.getElementById({control!r}).scrollIntoView({{block: 'center'}})")
            page.screenshot(path=tmp_path / f"{control}.png")  # looked at: the photo over the controls
            assert page.evaluate(SEEN, control)
            assert page.evaluate(SEEN, "compare"), f"the photo is off the screen while {control} is used"
            height_pinned = page.evaluate("document.getElementById('compare').getBoundingClientRect().height")
            assert height_pinned <= 0.4 * height  # room left for the controls


def test_best_quality_gives_up_on_a_server_gone_for_good_and_says_so():
    """Hunt 32's page asked again every 2 s for a best-quality job when the server did not answer,
    and for ever: with the server stopped it said 'Waiting for the server to answer...' for hours,
    Start disabled, Cancel shown (pressed: an error, and on it waited), though the server lets a
    page's job go once it has not heard from it for 4 heartbeats. After 6 it gives up and says so."""
    import json

    from studio_page import background_studio, chromium, studio_page
    from test_hunt29_studio import jpeg, photo

    queued = {"id": "j1", "state": "queued", "progress": 0, "done": 0, "total": 4, "seconds": 0}
    with background_studio() as studio, chromium() as browser, studio_page(browser, studio.url) as page:
        page.evaluate("studio.info.heartbeat_s = 2")  # as a server with heartbeats of 2 s: given up after 12 s
        page.set_input_files(
            "#photo-file", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg(photo(320, 240, 4))}]
        )
        page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview')")
        page.route(
            "**/api/jobs", lambda r: r.fulfill(status=200, content_type="application/json", body=json.dumps(queued))
        )
        page.route("**/api/jobs/j1", lambda r: r.abort("connectionrefused"))  # the server stopped
        page.evaluate("document.getElementById('best-start').disabled = false")
        page.click("#best-start")
        page.wait_for_function("document.getElementById('best-say').textContent.includes('Waiting for the server')")
        page.wait_for_selector("#error:not([hidden])", timeout=150_000)
        text = page.inner_text("#error-text")
        assert "no answer from the server for" in text and "not answering (was it stopped?)" in text, text
        assert "start it again" in text
        assert not page.is_disabled("#best-start") and page.is_hidden("#best-cancel")
        assert "Waiting" not in page.inner_text("#best-say")
        page.evaluate("document.getElementById('error').hidden = true")  # shown as it should be


def test_an_allowed_host_beyond_ascii_is_taken_as_the_browser_sends_it():
    from studio_page import background_studio, chromium, studio_page

    from deepphoto.commands.serve import host_name_of

    name = host_name_of("Fotos.Müller.de")
    assert name == "fotos.xn--mller-kva.de"  # what the browser's Host header says
    # the name leads to this computer, as a reverse proxy there would take it
    with (
        background_studio(allowed_hosts=(name,), token="hunt34") as studio,
        chromium(args=["--host-resolver-rules=MAP *.xn--mller-kva.de 127.0.0.1"]) as browser,
    ):
        port = studio.sock.getsockname()[1]
        with studio_page(browser, f"http://fotos.müller.de:{port}/?token=hunt34") as page:
            assert page.evaluate("location.hostname") == "fotos.xn--mller-kva.de"
            assert page.is_hidden("#error")


NGINX_413 = (
    b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    b"<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def test_a_proxys_own_refusal_of_a_photo_says_it_is_the_proxys_limit():
    from studio_page import background_studio, chromium, studio_page
    from test_hunt29_studio import jpeg, photo

    me = [{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg(photo(320, 240, 4))}]
    with background_studio() as studio, chromium() as browser, studio_page(browser, studio.url) as page:
        page.route("**/api/uploads/photo", lambda r: r.fulfill(status=413, content_type="text/html", body=NGINX_413))
        page.set_input_files("#photo-file", files=me)
        page.wait_for_selector("#error:not([hidden])")
        text = page.inner_text("#error-text")
        assert "web server in front of the studio refused the file as too large" in text, text
        assert "client_max_body_size" in text
        page.click("#error-close")

        page.unroute("**/api/uploads/photo")
        page.route("**/api/render", lambda r: r.fulfill(status=502, content_type="text/html", body=b"<h1>502</h1>"))
        page.set_input_files("#photo-file", files=me)
        page.wait_for_selector("#error:not([hidden])")
        text = page.inner_text("#error-text")
        assert "the web server answered 502" in text and "not the DeepPhoto studio" in text, text
        page.click("#error-close")


class PlainProxy:
    """A reverse proxy as nginx's guides set one up in front of the studio, at https on a port of its
    own: it passes each request on in plain http to ``port``, the browser's Host kept, with
    X-Forwarded-Proto: https (one request a connection)."""

    def __init__(self, port: int, tls) -> None:
        import socket
        import ssl
        import threading

        self.port = port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(tls.certfile, tls.keyfile)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.relay, args=(client,), daemon=True).start()

    def relay(self, client) -> None:
        import socket

        try:
            with self.context.wrap_socket(client, server_side=True) as tls:
                head = b""
                while b"\r\n\r\n" not in head and (chunk := tls.recv(65536)):
                    head += chunk
                first, rest = head.split(b"\r\n", 1)
                forwarded = first + b"\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n" + rest
                with socket.create_connection(("127.0.0.1", self.port), timeout=60) as upstream:
                    upstream.sendall(forwarded)
                    while chunk := upstream.recv(65536):
                        tls.sendall(chunk)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        self.listener.close()


def test_https_behind_a_proxy_that_passes_plain_http_says_what_to_change_rather_than_loop(tmp_path):
    """The proxy's browser is at https://photos.example.com; redirected to it, it was sent back where it was."""
    pytest.importorskip("cryptography", reason="needs the web extra: pip install -e '.[web]'")
    from studio_page import chromium

    from deepphoto.web.app import StudioConfig
    from deepphoto.web.server import BackgroundServer
    from deepphoto.web.tls import self_signed

    tls = self_signed([], folder=tmp_path)
    config = StudioConfig(allowed_hosts=("photos.example.com",), token="hunt34", warm=False)
    with (
        BackgroundServer(config, tls=tls) as studio,
        chromium(args=["--host-resolver-rules=MAP photos.example.com 127.0.0.1"]) as browser,
    ):
        port = studio.sock.getsockname()[1]
        proxy = PlainProxy(port, tls)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.set_default_timeout(180_000)
            reply = page.goto(f"https://photos.example.com:{proxy.address[1]}/?token=hunt34")
            text = page.inner_text("body")
            assert reply.status == 400, text
            assert "passed the request on in plain http" in text
            assert f"proxy_pass https://127.0.0.1:{port};" in text
            assert "without --https" in text
        finally:
            proxy.close()
