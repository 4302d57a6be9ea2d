"""DeepPhoto Studio against a clumsy or hostile client (hunt 27): HEAD and 405s as HTTP says, a form
or a GIF named as what it is, a malformed WebRTC offer and any bug answered in one line (never a
traceback in the log), a client that goes away mid-upload, and a stop that ends even while a
client holds an upload open, cleaning up."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("httpx2", reason="FastAPI's test client needs httpx2 (the dev extra)")

from conftest import encoded, portrait  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from test_web_api import hello  # noqa: E402
from test_web_api import one_line_error as web_api_error  # noqa: E402

from deepphoto.errors import DeepPhotoError  # noqa: E402
from deepphoto.settings import whole  # noqa: E402
from deepphoto.web import gallery  # noqa: E402
from deepphoto.web.app import StudioConfig, create_app  # noqa: E402

LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(StudioConfig(warm=False)), base_url=LOCAL) as c:
        yield c


def one_line_error(reply, status: int) -> str:
    message = web_api_error(reply, status)
    assert len(message) < 200  # not a number of 309 digits
    return message


def test_the_page_answers_head_and_a_wrong_method_says_which_are_allowed(client):
    head = client.head("/")
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/html") and not head.content
    put = client.put("/")
    one_line_error(put, 405)
    assert set(put.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert client.get("/api/render").headers["allow"] == "POST"


def test_a_form_upload_and_a_gif_are_named_for_what_they_are(client):
    h = hello(client)
    form = client.post("/api/uploads/photo", files={"file": ("me.jpg", encoded(portrait(), ".jpg"))}, headers=h)
    assert "not a multipart form" in one_line_error(form, 415)
    gif = io.BytesIO()
    Image.new("RGB", (64, 48)).save(gif, "GIF")
    reply = client.post("/api/uploads/photo", content=gif.getvalue(), headers=h)
    assert "GIF is not an image this app reads" in one_line_error(reply, 415)
    # the body itself, as curl --data-binary sends it (a form's content type, an image's bytes): taken
    jpeg = encoded(portrait(), ".jpg")
    plain = {**h, "Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/api/uploads/photo", content=jpeg, headers=plain).status_code == 200


def test_a_huge_whole_number_is_named_as_it_was_given(client):
    with pytest.raises(DeepPhotoError) as refused:
        whole("feather", 1e308, 0, 64)
    assert str(refused.value) == "feather 1e+308: must be from 0 to 64"
    with pytest.raises(DeepPhotoError, match=r"^feather 100: "):
        whole("feather", 100.0, 0, 64)
    h = hello(client)
    photo = client.post("/api/uploads/photo", content=encoded(portrait()), headers=h).json()["id"]
    reply = client.post("/api/render", json={"photo": photo, "effect": "blur", "feather": 1e308}, headers=h)
    assert one_line_error(reply, 422) == "feather 1e+308: must be from 0 to 64"


def test_a_bug_is_a_one_line_500_and_is_not_raised_on(client, monkeypatch, capfd):
    def broken() -> list[dict[str, str]]:
        raise RuntimeError("styles broke")

    monkeypatch.setattr(gallery, "styles", broken)
    # the test client raises what reaches Starlette's outermost layer (which then has uvicorn log a traceback)
    reply = client.post("/api/hello", headers={"X-DeepPhoto-Client": "new"})
    assert one_line_error(reply, 500) == "internal error (RuntimeError): styles broke"
    err = capfd.readouterr().err
    assert "deepphoto serve: POST /api/hello: RuntimeError: styles broke" in err and "Traceback" not in err


MALFORMED_OFFERS = {
    "no DTLS fingerprint": "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n"
    "a=rtpmap:96 VP8/90000\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=rtcp-mux\r\n",
    "a codec no one knows": "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n"
    "a=rtpmap:96 H999/90000\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=rtcp-mux\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED_OFFERS))
def test_a_malformed_live_offer_is_a_422(name):
    pytest.importorskip("aiortc", reason="needs the web extra: pip install -e '.[web]'")
    sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" + MALFORMED_OFFERS[name]
    with TestClient(create_app(StudioConfig(warm=False, max_live=1)), base_url=LOCAL) as c:
        h = hello(c)
        for _ in range(2):  # the session's slot is given back: the second is read too
            reply = c.post("/api/live/offer", json={"sdp": sdp, "type": "offer"}, headers=h)
            assert "the browser's offer could not be read" in one_line_error(reply, 422)
        garbage = c.post("/api/live/offer", json={"sdp": "m=video\r\nfoo", "type": "offer"}, headers=h)
        one_line_error(garbage, 422)


def partial_upload(url: str, client_id: str) -> socket.socket:
    """A connection that starts a 5 MB upload and sends only its first kilobyte."""
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    head = (
        f"POST /api/uploads/photo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-DeepPhoto-Client: {client_id}\r\n"
        "Content-Length: 5000000\r\n\r\n"
    )
    s.sendall(head.encode() + b"\x89PNG" + b"\0" * 1000)
    return s


def test_a_client_that_goes_away_mid_upload_leaves_no_traceback(capfd):
    pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")
    import httpx2

    from deepphoto.web.server import BackgroundServer

    with BackgroundServer(StudioConfig(warm=False)) as studio:
        first = httpx2.post(studio.url + "api/hello", headers={"X-DeepPhoto-Client": "new"}).json()["client"]
        partial_upload(studio.url, first).close()
        time.sleep(0.5)
        assert httpx2.post(studio.url + "api/ping", headers={"X-DeepPhoto-Client": first}).status_code == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ClientDisconnect" not in err, err


@pytest.mark.parametrize("signals", [("SIGTERM",), ("SIGINT", "SIGINT")])
def test_a_stop_ends_the_studio_while_an_upload_is_held_open(tmp_path: Path, signals: tuple[str, ...]):
    pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")
    import httpx2

    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepphoto", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("DeepPhoto Studio: http://"), line + proc.stderr.read()
        url = line.split()[2]
        client_id = httpx2.post(url + "api/hello", headers={"X-DeepPhoto-Client": "new"}, timeout=60).json()["client"]
        held = partial_upload(url, client_id)
        time.sleep(0.3)
        assert list(tmp_path.glob("deepphoto-studio-*"))
        for name in signals:  # a second Ctrl-C must not skip the clean-up (uvicorn's "force quit")
            proc.send_signal(getattr(signal, name))
            time.sleep(0.3)
        _, err = proc.communicate(timeout=30)  # it waited for the held upload forever
        held.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "ERROR" not in err, err
    assert not list(tmp_path.glob("deepphoto-studio-*"))


def test_the_live_mirror_is_true_or_false_not_any_text():
    """``"mirror": "no"`` was taken as a yes (any non-empty text is truthy): now a one-line 422."""
    from deepphoto.web.live import WebError, mirror_of

    assert mirror_of(True) is True and mirror_of(0) is False and mirror_of(1) is True
    for bad in ("no", "false", 2, None):
        with pytest.raises(WebError, match="mirror .*: must be true or false"):
            mirror_of(bad)


def test_a_setting_given_true_is_not_taken_as_the_number_one():
    from deepphoto.settings import Settings

    with pytest.raises(DeepPhotoError, match="strength true: must be a number"):
        Settings(style="wave", strength=True)
    assert Settings(style="wave", strength=1).strength == 1.0
