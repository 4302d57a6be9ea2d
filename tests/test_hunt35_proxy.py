"""DeepPhoto Studio behind a real reverse proxy (hunt 35): nginx 1.22 and Caddy 2.6 run on this
computer in front of ``deepphoto serve``, the Studio used through them in Debian's chromium. These
tests need neither: they send the studio what such a proxy sends.

- ``serve --https`` behind nginx passing requests on in plain http without X-Forwarded-Proto (nginx's
  own default, and many guides' configurations): hunt 34's answer saying what to change was given only
  where the proxy said the browser came as https; any other such request was redirected to
  https://HOST, the proxy's own address (Host $http_host: Chromium's ERR_TOO_MANY_REDIRECTS; Host
  $host: the proxy's port 443; nginx's default Host 127.0.0.1:PORT: a browser on another computer sent
  to its own 127.0.0.1). A request a proxy passed on (its headers, HTTP/1.0 from this computer as
  nginx sends, or a host on another port than the studio's) is answered with what to change now.
- ``deepphoto serve`` (127.0.0.1, no token: "for this computer only") behind nginx as most guides
  and its own defaults have it (``proxy_pass http://127.0.0.1:8000;``, the Host it sends being
  127.0.0.1:8000, which the host check lets in) served anyone who reached the proxy, from any
  computer, without a token: the page, uploads, and the Camera tab's runs of this computer's webcam
  (checked from 192.0.2.2 through nginx). A request a proxy says came from another computer
  (X-Forwarded-For, X-Real-IP), or that came in HTTP/1.0 (nginx's, which says nothing of where from),
  is refused now, 403, naming --allowed-host (which asks for the token).
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")

from test_hunt32_studio import plain_request  # noqa: E402


@pytest.fixture(scope="module")
def https_studio(tmp_path_factory):
    pytest.importorskip("cryptography", reason="needs the web extra: pip install -e '.[web]'")
    from deepphoto.web.app import StudioConfig
    from deepphoto.web.server import BackgroundServer
    from deepphoto.web.tls import self_signed

    tls = self_signed([], folder=tmp_path_factory.mktemp("https"))
    config = StudioConfig(allowed_hosts=("photos.example.com",), token="hunt35", warm=False)
    with BackgroundServer(config, tls=tls) as studio:
        yield studio


# what nginx 1.22 sent the studio (seen on the wire) for https://photos.example.com:18450/?token=hunt35
NGINX = {
    # proxy_pass http://127.0.0.1:PORT; alone (nginx's defaults: HTTP/1.0, Host $proxy_host)
    "default": b"GET /?token=hunt35 HTTP/1.0\r\nHost: 127.0.0.1:%(port)d\r\nConnection: close\r\n\r\n",
    # + proxy_set_header Host $host; (what hunt 32's --allowed-host asks a proxy to pass on)
    "host": b"GET /?token=hunt35 HTTP/1.0\r\nHost: photos.example.com\r\nConnection: close\r\n\r\n",
    # + proxy_http_version 1.1; proxy_set_header Host $http_host; (the browser's Host, with its port)
    "http_host 1.1": b"GET /?token=hunt35 HTTP/1.1\r\nHost: photos.example.com:18450\r\nConnection: close\r\n\r\n",
    # + X-Forwarded-For but no X-Forwarded-Proto, in 1.1, the studio's own port in Host
    "forwarded-for": b"GET /?token=hunt35 HTTP/1.1\r\nHost: 127.0.0.1:%(port)d\r\n"
    b"X-Forwarded-For: 192.0.2.7\r\nConnection: close\r\n\r\n",
}


@pytest.mark.parametrize("setup", sorted(NGINX))
def test_https_behind_nginx_passing_plain_http_without_forwarded_proto_says_what_to_change(https_studio, setup):
    """Redirected to https://photos.example.com (where the browser already was), Chromium gave up:
    ERR_TOO_MANY_REDIRECTS through a real nginx, 19 redirects."""
    port = https_studio.sock.getsockname()[1]
    answer = plain_request(port, NGINX[setup] % {b"port": port})
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert b"\r\nLocation:" not in head
    assert b"passed the request on in plain http" in body
    assert b"proxy_pass https://127.0.0.1:%d;" % port in body
    assert b"without --https" in body


def test_a_browser_given_http_is_still_sent_to_https(https_studio):
    """What hunt 32's redirect is for: a browser on this computer that was given http:// (typed, a
    bookmark) on the studio's own port, under any of its names."""
    port = https_studio.sock.getsockname()[1]
    for host in (b"127.0.0.1:%d" % port, b"localhost:%d" % port, b"photos.example.com:%d" % port):
        answer = plain_request(port, b"GET /?token=hunt35 HTTP/1.1\r\nHost: %s\r\nAccept: text/html\r\n\r\n" % host)
        assert answer.startswith(b"HTTP/1.1 307 "), answer[:200]
        assert b"\r\nLocation: https://%s/?token=hunt35\r\n" % host in answer


# ------------------------------------------------------------------ what README's nginx example relies on


@pytest.fixture
def proxied_studio():
    from deepphoto.web.app import StudioConfig
    from deepphoto.web.server import BackgroundServer

    config = StudioConfig(allowed_hosts=("photos.example.com",), token="hunt35", warm=False, rate=0.01, burst=3)
    with BackgroundServer(config) as studio:
        yield studio


def ping(studio, headers: dict[str, str]) -> int:
    """The status of one request as nginx passes it on (from 127.0.0.1, the browser's host name)."""
    import http.client

    port = studio.sock.getsockname()[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/api/ping?token=hunt35", headers={"Host": "photos.example.com", **headers})
        return conn.getresponse().status
    finally:
        conn.close()


def test_each_browser_behind_the_proxy_has_its_own_rate_limit_with_x_forwarded_for(proxied_studio):
    """README's nginx example passes X-Forwarded-For: one browser's burst then does not refuse another's
    requests (checked through nginx: without the header, a burst from 127.0.0.2 got 127.0.0.3 refused)."""
    first = [ping(proxied_studio, {"X-Forwarded-For": "192.0.2.7"}) for _ in range(5)]
    assert 429 in first  # the burst (3) used up, at 0.01 a second
    assert ping(proxied_studio, {"X-Forwarded-For": "192.0.2.8"}) != 429
    # without the header every browser is the proxy's 127.0.0.1: one bucket for all
    [ping(proxied_studio, {}) for _ in range(4)]
    assert ping(proxied_studio, {}) == 429


def test_the_token_cookie_is_kept_to_https_with_x_forwarded_proto(proxied_studio):
    import http.client

    port = proxied_studio.sock.getsockname()[1]
    for proto, secure in (("https", True), (None, False)):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Host": "photos.example.com", **({"X-Forwarded-Proto": proto} if proto else {})}
        conn.request("GET", "/?token=hunt35", headers=headers)
        reply = conn.getresponse()
        cookie = reply.getheader("set-cookie") or ""
        conn.close()
        assert reply.status == 200 and "hunt35" in cookie
        assert ("; Secure" in cookie or "; secure" in cookie) is secure, cookie


# ------------------------------------------------------------------ a studio for this computer only, behind a proxy


@pytest.fixture(scope="module")
def local_studio():
    from deepphoto.web.app import StudioConfig
    from deepphoto.web.server import BackgroundServer

    with BackgroundServer(StudioConfig(warm=False)) as studio:  # what plain 'deepphoto serve' runs: no token
        yield studio


def hello(studio, headers: dict[str, str], version: str = "HTTP/1.1") -> tuple[int, bytes]:
    """POST /api/hello as a page sends it, from 127.0.0.1 (where a proxy on this computer connects from)."""
    port = studio.sock.getsockname()[1]
    fields = {"Host": f"127.0.0.1:{port}", **headers, "X-DeepPhoto-Client": "new", "Content-Length": "0"}
    extra = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    answer = plain_request(port, f"POST /api/hello {version}\r\n{extra}Connection: close\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "headers,version,said",
    [
        ({"X-Forwarded-For": "192.0.2.7"}, "HTTP/1.1", b"from 192.0.2.7"),  # nginx told to, Caddy by default
        ({"X-Real-IP": "192.0.2.7"}, "HTTP/1.1", b"from 192.0.2.7"),
        ({}, "HTTP/1.0", b"in HTTP/1.0"),  # nginx's proxy_pass as it is: 1.0, Host 127.0.0.1:PORT, nothing else
    ],
)
def test_a_studio_for_this_computer_only_refuses_what_a_proxy_passes_from_beyond(local_studio, headers, version, said):
    status, body = hello(local_studio, headers, version)
    assert status == 403, body
    assert said in body and b"--allowed-host NAME" in body and b"access token" in body


def test_a_studio_for_this_computer_only_still_serves_this_computer(local_studio):
    assert hello(local_studio, {})[0] == 200  # a browser here
    assert hello(local_studio, {"X-Forwarded-For": "127.0.0.1"})[0] == 200  # through a proxy, from here
    # nginx as it is passes a browser's own X-Forwarded-For on: it does not make a request from here
    assert hello(local_studio, {"X-Forwarded-For": "127.0.0.1"}, "HTTP/1.0")[0] == 403
