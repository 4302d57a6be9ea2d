"""DeepPhoto Studio exposed beyond this computer (hunt 31, websec): a real ``serve`` on a port,
driven by a real HTTP client and by chromium.

- ``serve --host 0.0.0.0`` stopped and started again prints a new token; opening the new address
  in the same browser said "access token missing or wrong: open the address 'deepphoto serve'
  printed" (the old run's cookie was taken before the token in the address), and two studios on
  one computer signed each other's pages out (a browser keeps one cookie per host, whatever the
  port). Any right token now lets the request in, and the cookie is named after the port.
- Under ``--https`` the token's cookie lacked ``Secure``: a browser sent it to any plain
  ``http://`` address of the same host (anyone on the café's Wi-Fi who answers there reads it).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib

import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")
requests = pytest.importorskip("requests", reason="needs requests (a real HTTP client)")

from studio_page import background_studio  # noqa: E402

NEW = {"X-DeepPhoto-Client": "new"}


def png(width: int, height: int) -> bytes:
    """A small grey PNG (made here: no image library needed)."""
    raw = b"".join(b"\x00" + bytes([128]) * (3 * width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def base_of(url: str) -> str:
    """'http://127.0.0.1:PORT/?token=...' -> 'http://127.0.0.1:PORT'."""
    return url.split("/?")[0].rstrip("/")


def test_a_cookie_of_an_earlier_run_does_not_hide_the_new_token():
    with background_studio(host="0.0.0.0", token="the-new-one") as studio:
        base, port = base_of(studio.url), studio.url.split(":")[2].split("/")[0]
        browser = requests.Session()
        for name in ("deepphoto_token", f"deepphoto_token_{port}"):  # what an earlier run on this port left
            browser.cookies.set(name, "the-old-one", domain="127.0.0.1")
        page = browser.get(studio.url)
        assert page.status_code == 200, page.text
        assert browser.post(base + "/api/hello", headers=NEW).status_code == 200  # the cookie, renewed
        assert browser.post(base + "/api/hello", headers={**NEW, "X-DeepPhoto-Token": "the-new-one"}).ok
        assert requests.post(base + "/api/hello", headers=NEW, cookies={"x": "y"}).status_code == 401
        wrong = requests.get(base + "/?token=the-old-one", cookies={f"deepphoto_token_{port}": "the-old-two"})
        assert wrong.status_code == 401 and "token" in wrong.json()["error"]


def test_two_studios_on_one_computer_keep_their_own_pages():
    with (
        background_studio(host="0.0.0.0", token="studio-one") as one,
        background_studio(host="0.0.0.0", token="studio-two") as two,
    ):
        browser = requests.Session()  # one cookie jar per host, as a browser's: ports share it
        assert browser.get(one.url).status_code == 200
        assert browser.get(two.url).status_code == 200
        for studio in (one, two, one):
            reply = browser.post(base_of(studio.url) + "/api/hello", headers=NEW)
            assert reply.status_code == 200, (studio.url, reply.text)


def test_two_studios_in_chromium_keep_their_own_pages():
    from studio_page import chromium

    with (
        background_studio(host="0.0.0.0", token="studio-one") as one,
        background_studio(host="0.0.0.0", token="studio-two") as two,
        chromium() as browser,
    ):
        context = browser.new_context(bypass_csp=True)
        context.set_default_timeout(180_000)  # the test machines are shared and slow
        first = context.new_page()
        first.goto(one.url)
        first.wait_for_selector("body[data-ready=true]")
        second = context.new_page()
        second.goto(two.url)
        second.wait_for_selector("body[data-ready=true]")
        ping = "fetch('/api/ping', {method: 'POST', headers: {'X-DeepPhoto-Client': studio.client}})"
        ping += ".then(r => r.status)"
        assert first.evaluate(ping) == 200  # the first studio's page, after the second was opened
        assert second.evaluate(ping) == 200
        context.close()


def test_over_https_the_token_cookie_is_secure(tmp_path):
    pytest.importorskip("cryptography", reason="needs the web extra: pip install -e '.[web]'")
    import urllib3

    from deepphoto.web.app import StudioConfig
    from deepphoto.web.server import BackgroundServer
    from deepphoto.web.tls import self_signed

    urllib3.disable_warnings()
    tls = self_signed([], folder=tmp_path)
    with BackgroundServer(StudioConfig(host="0.0.0.0", token="hunt31", warm=False), tls=tls) as studio:
        page = requests.get(studio.url, verify=False)
        cookie = page.headers["set-cookie"].lower()
        assert page.status_code == 200 and "httponly" in cookie and "samesite=strict" in cookie
        assert "secure" in cookie.replace("samesite", "")
    with background_studio(host="0.0.0.0", token="hunt31") as plain:  # plain http: a Secure cookie would be lost
        cookie = requests.get(plain.url).headers["set-cookie"].lower()
        assert "secure" not in cookie.replace("samesite", "")


def closed_by_server(sock: socket.socket, drip: bool = True, tries: int = 120) -> bool:
    """Whether the server closes ``sock`` (a request never finished: a byte sent now and then)."""
    sock.settimeout(0.25)
    for _ in range(tries):
        try:
            if drip:
                sock.sendall(b"X")
            if sock.recv(100) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_a_request_never_finished_is_closed_and_a_slow_upload_is_not(monkeypatch):
    """slowloris: connections opened by anyone on the network (no token needed) and fed a byte
    now and then were held for ever, until the studio had no files left to open and answered no one."""
    import deepphoto.web.server as server

    monkeypatch.setattr(server, "HEADERS_WITHIN_S", 1.0, raising=False)
    with background_studio(host="0.0.0.0", token="hunt31") as studio:
        port = int(studio.url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            assert closed_by_server(sock)
        # an upload on a slow line (headers whole, the body taking longer than the headers may) is served
        base = base_of(studio.url)
        client = requests.post(base + "/api/hello", headers={**NEW, "X-DeepPhoto-Token": "hunt31"}).json()["client"]
        body = png(64, 48)
        head = (
            f"POST /api/uploads/photo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-DeepPhoto-Token: hunt31\r\n"
            f"X-DeepPhoto-Client: {client}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(head.encode())
            for i in range(0, len(body), len(body) // 6 + 1):
                time.sleep(0.5)  # 3 seconds in all, three times the time the headers had
                sock.sendall(body[i : i + len(body) // 6 + 1])
            sock.settimeout(120)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
        assert b'"width":64' in reply
        assert requests.get(studio.url).status_code == 200  # and the studio answers


def test_one_address_cannot_hold_every_connection(monkeypatch):
    import deepphoto.web.server as server

    address = server.outward_address()
    if address is None:
        pytest.skip("needs a network address of this computer (not loopback) to connect from")
    monkeypatch.setattr(server, "MAX_CONNECTIONS_PER_ADDRESS", 4, raising=False)
    with background_studio(host="0.0.0.0", token="hunt31") as studio:
        port = int(studio.url.split(":")[2].split("/")[0])
        held = [socket.create_connection((address, port)) for _ in range(4)]
        try:
            for sock in held:
                sock.sendall(b"GET / HTTP/1.1\r\n")
            with socket.create_connection((address, port)) as fifth:
                assert closed_by_server(fifth, drip=False)
            assert requests.get(studio.url).status_code == 200  # this computer (loopback) is not counted
        finally:
            for sock in held:
                sock.close()
        status = 0
        for _ in range(100):  # the server forgets the closed ones as it is told of them
            try:
                with requests.get(f"http://{address}:{port}/?token=hunt31") as reply:
                    status = reply.status_code
            except requests.ConnectionError:  # refused (closed as accepted): not told of all yet
                time.sleep(0.05)
                continue
            if status == 200:
                break
        assert status == 200


def test_uploads_sent_at_once_are_decoded_a_few_at_a_time(monkeypatch):
    """Eight 49-megapixel PNGs (150 KB each) sent at once were decoded at once: 2 GB of memory in
    a moment (forty, the server's threads, would be 9 GB). They now wait their turn, and all are taken."""
    import deepphoto.web.app as app

    decode, lock, now, most = app.decode_upload, threading.Lock(), [0], [0]

    def counted(*args, **kwargs):  # the real decoder, with how many run at once counted
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        try:
            time.sleep(0.3)  # long enough for the others to arrive, as a large photo's decoding is
            return decode(*args, **kwargs)
        finally:
            with lock:
                now[0] -= 1

    monkeypatch.setattr(app, "decode_upload", counted)
    with background_studio() as studio:
        base = base_of(studio.url)
        replies: list[int] = []

        def send() -> None:
            client = requests.post(base + "/api/hello", headers=NEW).json()["client"]
            reply = requests.post(base + "/api/uploads/photo", data=png(80, 60), headers={"X-DeepPhoto-Client": client})
            replies.append(reply.status_code)

        senders = [threading.Thread(target=send) for _ in range(8)]
        for t in senders:
            t.start()
        for t in senders:
            t.join()
    assert replies == [200] * 8
    assert most[0] <= 2, f"{most[0]} uploads were decoded at once"


def test_the_token_leaves_the_address_bar_and_the_page_keeps_working():
    """The access token stayed in the address bar (read by anyone who sees the screen at a café,
    kept in the browser's history); once the server answered, it is taken out of it: the page
    keeps working, and so does a reload (the cookie)."""
    from studio_page import chromium, studio_page

    with background_studio(host="0.0.0.0", token="hunt31-secret") as studio, chromium() as browser:
        with studio_page(browser, studio.url + "#photo") as page:
            assert "hunt31-secret" not in page.url and page.url.endswith("/#photo"), page.url
            page.click("#tab-live")
            assert "hunt31-secret" not in page.url
            page.click("#tab-photo")
            picture = {"name": "p.png", "mimeType": "image/png", "buffer": png(64, 48)}
            page.set_input_files("#photo-file", files=[picture])
            page.wait_for_function("document.getElementById('photo-status').textContent.includes('64x48')")
            page.reload()
            page.wait_for_selector("body[data-ready=true]")
            assert page.evaluate("studio.client")


def test_json_nested_thousands_deep_is_a_422_not_an_internal_error():
    with background_studio() as studio:
        base = base_of(studio.url)
        client = requests.post(base + "/api/hello", headers=NEW).json()["client"]
        reply = requests.post(
            base + "/api/render", data="[" * 50_000 + "]" * 50_000, headers={"X-DeepPhoto-Client": client}
        )
        assert reply.status_code == 422 and "nested too deeply" in reply.json()["error"], reply.text


@pytest.mark.parametrize("https", [False, True])
def test_over_plain_http_the_warning_says_the_token_can_be_read_on_the_way(https, monkeypatch, capsys, tmp_path):
    """'anyone who ... has the address below' read as if the token kept a café's Wi-Fi out; over
    plain http every request carries it readable by anyone on that network: the warning says so."""
    import deepphoto.web.server as server
    from deepphoto.web.app import StudioConfig

    class Served:
        def run(self, sockets: list) -> None:  # serves nothing
            pass

    monkeypatch.setattr(server, "uvicorn_server", lambda app, tls=None: Served())
    tls = None
    if https:
        pytest.importorskip("cryptography", reason="needs the web extra: pip install -e '.[web]'")
        from deepphoto.web.tls import self_signed

        tls = self_signed([], folder=tmp_path)
    server.serve(StudioConfig(host="0.0.0.0", warm=False), 0, tls=tls)
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "access token" in warning[0]
    assert ("unencrypted" in warning[0] and "--https" in warning[0]) is not https, warning
