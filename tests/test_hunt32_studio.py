"""DeepPhoto Studio (hunt 32, studio): what a user of ``deepphoto serve`` hit.

- ``serve --https`` opened as ``http://HOST:PORT/`` (typed, or an old bookmark) got an empty reply:
  the browser said "connection closed" (ERR_EMPTY_RESPONSE) and nothing told why. A page is now
  redirected to the same address with ``https://`` (307: not remembered by the browser), any other
  request answered with a 400 naming the https address.
- Behind a reverse proxy on the same computer that passes the browser's Host (Caddy does by
  default, nginx with ``proxy_set_header Host $host``) every request was refused ("host
  'photos.example.com' refused"), the check against DNS rebinding, with no way to let the proxy's
  name in. ``serve --allowed-host NAME`` lets it in, and asks for the access token it prints (whoever
  reaches the proxy reaches the studio); other names are still refused, the message naming the option.
- "Best quality" kept the results of the newest 16 finished jobs, each full size, and with each the
  photo (and an uploaded painting) it was made from, after the uploads' memory cap had let them go:
  16 jobs on 48 MP photos held about 4.6 GB. Results are now kept within a cap of their own (the
  newest always), and a finished job lets go of its photo.
- At 400% zoom (a 320x256 window) the photo and its status, pinned at the top, took 161 of the 256
  pixels, the controls scrolling in a slit under them. In a short window only the photo is pinned
  now (30% of the height), and a control reached with Shift+Tab is not hidden under it.
- A HEIC photo dropped on the page was "not an image this app reads"; it is named, with the way to
  a JPEG, as ``deepphoto edit`` names it.
- One poll of a best-quality job that found no server (a phone's Wi-Fi dropping for a moment) ended
  the page's polling: the job went on unseen, Start disabled and Cancel shown until a reload. The
  page asks again; a job the server no longer has gives Start back.
- A phone's panorama (14000x2600, 36 megapixels, under the 50 taken) was refused: "a side of at
  most 12000 pixels", with no option to take it, though ``edit`` paints it window by window. The
  pixels bound an upload; a side, only by a JPEG's own limit.
"""

from __future__ import annotations

import socket
import ssl
import sys
import time
import types

import numpy as np
import pytest
from adversarial import refused

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")
requests = pytest.importorskip("requests", reason="needs requests (a real HTTP client)")


def plain_request(port: int, request: bytes) -> bytes:
    """What the studio answers ``request`` sent in plain http to ``port`` (all of it, until it closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.fixture(scope="module")
def https_studio(tmp_path_factory):
    pytest.importorskip("cryptography", reason="needs the web extra: pip install -e '.[web]'")
    from deepphoto.web.app import StudioConfig
    from deepphoto.web.server import BackgroundServer
    from deepphoto.web.tls import self_signed

    tls = self_signed([], folder=tmp_path_factory.mktemp("https"))
    with BackgroundServer(StudioConfig(host="0.0.0.0", token="hunt32", warm=False), tls=tls) as studio:
        yield studio


def test_plain_http_on_the_https_port_is_sent_to_https(https_studio):
    port = https_studio.sock.getsockname()[1]
    page = plain_request(port, b"GET /?token=hunt32 HTTP/1.1\r\nHost: 192.0.2.7:%d\r\n\r\n" % port)
    assert page.startswith(b"HTTP/1.1 307 ")
    assert b"\r\nLocation: https://192.0.2.7:%d/?token=hunt32\r\n" % port in page
    assert page.endswith(b"served over https: open https://192.0.2.7:%d/?token=hunt32\n" % port)
    call = plain_request(port, b"POST /api/ping HTTP/1.1\r\nHost: localhost:%d\r\nContent-Length: 0\r\n\r\n" % port)
    assert call.startswith(b"HTTP/1.1 400 ") and b"open https://localhost:%d/api/ping" % port in call
    # a Host header that is no host name is not echoed: the address the connection came to is
    odd = plain_request(port, b"GET / HTTP/1.1\r\nHost: a b\r\n<script>\r\n\r\n")
    assert b"\r\nLocation: https://127.0.0.1:%d/\r\n" % port in odd


def test_a_browser_given_http_ends_on_the_https_page_and_https_still_works(https_studio):
    import urllib3

    urllib3.disable_warnings()
    port = https_studio.sock.getsockname()[1]
    page = requests.get(f"http://127.0.0.1:{port}/?token=hunt32", verify=False, timeout=60)
    assert page.status_code == 200 and page.url.startswith("https://") and "DeepPhoto" in page.text
    assert [r.status_code for r in page.history] == [307]
    with requests.Session() as session:  # keep-alive over https: several requests on one connection
        for _ in range(3):
            hello = session.post(
                f"https://127.0.0.1:{port}/api/hello",
                headers={"X-DeepPhoto-Client": "new", "X-DeepPhoto-Token": "hunt32"},
                verify=False,
                timeout=60,
            )
            assert hello.status_code == 200 and hello.json()["client"]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60)) as tls:
        tls.sendall(b"HEAD /?token=hunt32 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert tls.recv(100).startswith(b"HTTP/1.1 200 ")


def test_behind_a_reverse_proxy_its_host_name_is_let_in_with_the_token():
    from studio_page import background_studio

    from deepphoto.web.app import StudioConfig

    proxied = {"Host": "Photos.Example.com", "X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "https"}
    with background_studio(allowed_hosts=("photos.example.com",), token="hunt32") as studio:
        base = studio.url.split("/?")[0]
        page = requests.get(f"{base}/?token=hunt32", headers=proxied, timeout=60)
        assert page.status_code == 200 and "DeepPhoto" in page.text
        assert "secure" in page.headers["set-cookie"].lower().replace("samesite", "")  # the browser's https
        no_token = requests.get(f"{base}/", headers=proxied, timeout=60)
        assert no_token.status_code == 401
        rebound = requests.get(f"{base}/?token=hunt32", headers={"Host": "attacker.example:8000"}, timeout=60)
        assert rebound.status_code == 403 and "--allowed-host attacker.example" in rebound.json()["error"]
    assert StudioConfig().allowed_hosts == ()  # by default only this computer's names


def test_serve_with_an_allowed_host_prints_the_token_for_it(monkeypatch, capsys):
    import deepphoto.web.server as server
    from deepphoto.web.app import StudioConfig

    class Served:
        def run(self, sockets: list) -> None:  # serves nothing
            pass

    monkeypatch.setattr(server, "uvicorn_server", lambda app, tls=None: Served())
    config = StudioConfig(allowed_hosts=("photos.example.com",), warm=False)
    server.serve(config, 0)
    out = capsys.readouterr().out
    assert config.token and "127.0.0.1:" in out and f"?token={config.token}" in out
    assert f"photos.example.com with ?token={config.token}" in out


@pytest.mark.parametrize("name", ["https://photos.example.com/", "photos.example.com:8443", "", "a b"])
def test_an_allowed_host_that_is_no_host_name_is_one_line(capsys, name):
    refused(capsys, "serve", "--allowed-host", name, says="--allowed-host")


def test_an_allowed_host_is_read_as_a_browser_names_it():
    from deepphoto.commands.serve import host_name_of

    assert host_name_of("Photos.Example.COM.") == "photos.example.com"
    assert host_name_of("[2001:DB8::1]") == "2001:db8::1"
    assert host_name_of("192.168.1.20") == "192.168.1.20"


def test_best_quality_results_are_kept_within_a_memory_cap(monkeypatch):
    from deepphoto.web import jobs
    from deepphoto.web.photo import PhotoLook
    from deepphoto.web.store import Upload

    monkeypatch.setattr(jobs, "torch_available", lambda: True)
    optimiser = types.ModuleType("deepphoto.optimizer")
    optimiser.paint_photo = lambda image, *args, **kwargs: np.full_like(image, 128)  # its call, not its minutes
    monkeypatch.setitem(sys.modules, "deepphoto.optimizer", optimiser)
    rng = np.random.default_rng(32)

    class Photos:  # PhotoStudio's part that jobs use; every job on a photo of its own (1 MB each)
        class uploads:
            @staticmethod
            def get(client: str, photo_id: str, kind: str) -> Upload:
                image = rng.integers(0, 255, (512, 683, 3), np.uint8)
                return Upload(photo_id, client, kind, image, image[::4, ::4], "PNG")

        @staticmethod
        def look(client: str, values: dict) -> PhotoLook:
            return PhotoLook({"style": "wave"}, None, 1.0)

        @staticmethod
        def compose(image, look, painted, alpha, notes):
            return painted.copy()

    best = jobs.BestQuality(Photos(), limit=1, iterations=(1, 1))
    best.memory = 3 * 2**20
    try:
        for _ in range(8):
            job = best.start("page", "a" * 24, {"style": "wave"}, 64)
            deadline = time.monotonic() + 120
            while job.state in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.01)
            assert job.state == "done", job.message
        newest = best.get("page", job.id)  # the newest is kept for its page to fetch
        assert newest.result is not None and newest.result.shape == (512, 683, 3)
        with best.lock:
            kept = list(best.jobs.values())
        held = sum(j.result.nbytes for j in kept if j.result is not None)
        held += sum(j.photo.image.nbytes for j in kept if j.photo is not None)
        assert 1 <= len(kept) <= 3 and held <= best.memory, (len(kept), held)
    finally:
        best.close()


PINNED = """() => { const els = [document.querySelector('#photo .viewer'), document.getElementById('compare')];
    const pinned = els.filter(el => getComputedStyle(el).position === 'sticky');
    return pinned.length ? Math.max(...pinned.map(el => el.getBoundingClientRect().height)) : 0; }"""
UNDER = """() => { const r = document.activeElement.getBoundingClientRect();
    const v = document.getElementById('compare').getBoundingClientRect();
    return r.top < v.bottom - 1 && r.bottom > v.top + 1; }"""


def test_at_400_percent_zoom_the_pinned_photo_leaves_room_for_the_controls(tmp_path):
    import cv2
    from conftest import portrait
    from studio_page import background_studio, chromium, studio_page

    photo = cv2.imencode(".jpg", portrait((480, 640)))[1].tobytes()
    with background_studio() as studio, chromium() as browser:
        with studio_page(browser, studio.url, width=320, height=256) as page:
            page.set_input_files("#photo-file", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": photo}])
            page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview')")
            page.screenshot(path=tmp_path / "zoom400.png")  # looked at: the photo, its status, the controls
            assert page.evaluate("document.documentElement.scrollWidth") <= 320  # no sideways scroll
            assert 40 <= page.evaluate(PINNED) <= 0.4 * 256
            page.focus("#best-size")
            seen = []
            for _ in range(8):  # back up through the controls
                page.keyboard.press("Shift+Tab")
                seen.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
                assert not page.evaluate(UNDER), seen


def test_a_heic_photo_dropped_on_the_page_is_named_as_edit_names_it():
    """A Mac's Photos drags an iPhone's HEIC as it is (Safari's file chooser makes it a JPEG):
    "not an image this app reads" made it sound like no photo at all."""
    import struct

    from deepphoto.web.errors import WebError
    from deepphoto.web.limits import UploadLimits, decode_upload

    heic = struct.pack(">I", 24) + b"ftypheic\0\0\0\0mif1heic" + struct.pack(">I", 16) + b"mdat" + bytes(8)
    with pytest.raises(WebError) as refusal:
        decode_upload(heic, UploadLimits(), "photo")
    assert refusal.value.status == 415
    assert str(refusal.value).startswith("a HEIC photo, which DeepPhoto does not read: save it as JPEG")


def test_best_quality_outlasts_a_moment_without_the_server_and_a_lost_job_frees_start():
    """One poll of a best-quality job that found no server (a phone's Wi-Fi dropping for a moment)
    stopped the page asking: the job went on unseen, Start stayed disabled and Cancel shown until
    the page was reloaded. The page now asks again; a job the server no longer has gives Start back."""
    import json

    from studio_page import background_studio, chromium, studio_page
    from test_hunt29_studio import jpeg, photo

    polls = {"n": 0}

    def job(route) -> None:
        if route.request.method == "POST":
            body = {"id": "j1", "state": "queued", "progress": 0, "done": 0, "total": 4, "seconds": 0}
            return route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
        polls["n"] += 1
        if polls["n"] in (2, 3):  # no server for a moment
            return route.abort("connectionrefused")
        state = "done" if polls["n"] > 4 else "running"
        body = {"id": "j1", "state": state, "progress": 0.5, "done": 2, "total": 4, "seconds": 2, "message": ""}
        return route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    with background_studio() as studio, chromium() as browser, studio_page(browser, studio.url) as page:
        page.set_input_files(
            "#photo-file", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg(photo(320, 240, 4))}]
        )
        page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview')")
        page.route("**/api/jobs", job)
        page.route("**/api/jobs/j1", job)
        page.route(
            "**/api/jobs/j1/result",
            lambda r: r.fulfill(status=200, content_type="image/jpeg", body=jpeg(photo(32, 24, 1))),
        )
        page.evaluate("document.getElementById('best-start').disabled = false")
        page.click("#best-start")
        page.wait_for_function("document.getElementById('best-say').textContent.includes('Best quality done')")
        assert not page.is_disabled("#best-start") and page.is_hidden("#best-cancel")
        assert page.is_hidden("#error")

        gone = {"id": "j2", "state": "queued", "progress": 0, "done": 0, "total": 4, "seconds": 0}
        page.route(
            "**/api/jobs", lambda r: r.fulfill(status=200, content_type="application/json", body=json.dumps(gone))
        )
        page.route("**/api/jobs/j2", lambda r: r.fulfill(status=404, content_type="application/json",
                                                          body=json.dumps({"error": "job not found"})))  # fmt: skip
        page.click("#best-start")
        page.wait_for_selector("#error:not([hidden])")
        assert "job not found" in page.inner_text("#error-text")
        assert not page.is_disabled("#best-start") and page.is_hidden("#best-cancel")
        page.evaluate("document.getElementById('error').hidden = true")  # shown as it should be


def test_a_phones_panorama_is_taken():
    import cv2

    from deepphoto.web.limits import UploadLimits, decode_upload

    rng = np.random.default_rng(32)
    strip = cv2.resize(rng.integers(0, 255, (3, 130, 3), np.uint8), (13000, 300), interpolation=cv2.INTER_NEAREST)
    image, alpha = decode_upload(cv2.imencode(".jpg", strip)[1].tobytes(), UploadLimits(), "photo")
    assert image.shape == (300, 13000, 3) and alpha is None
