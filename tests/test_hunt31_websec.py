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

import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")
requests = pytest.importorskip("requests", reason="needs requests (a real HTTP client)")

from studio_page import background_studio  # noqa: E402

NEW = {"X-DeepPhoto-Client": "new"}


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
