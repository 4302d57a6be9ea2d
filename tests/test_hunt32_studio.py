"""DeepPhoto Studio (hunt 32, studio): what a user of ``deepphoto serve`` hit.

- ``serve --https`` opened as ``http://HOST:PORT/`` (typed, or an old bookmark) got an empty reply:
  the browser said "connection closed" (ERR_EMPTY_RESPONSE) and nothing told why. A page is now
  redirected to the same address with ``https://`` (307: not remembered by the browser), any other
  request answered with a 400 naming the https address.
"""

from __future__ import annotations

import socket
import ssl

import pytest

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
