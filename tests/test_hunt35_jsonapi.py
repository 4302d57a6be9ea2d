"""Hunt 35 (jsonapi): the JSON endpoints that take settings, as scripts send them (a Stream Deck
button, curl, home automation): ``deepphoto run ... --control`` (POST /settings) and the Studio's
/api/camera/*, /api/render and /api/jobs. A bad value or body is a 4xx with one line in the command
line's words, never a 500 or a Python word, and nothing is half-applied."""

from __future__ import annotations

import http.client
import json
from types import SimpleNamespace

from deepphoto.settings import Settings
from deepphoto.web.control import ControlServer


class _Pipe:
    """What the control endpoint steers, without networks: settings changed as Pipeline.update does."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.processor = SimpleNamespace(region=settings.region, look=SimpleNamespace(name=settings.look_name))

    def describe(self) -> str:
        return f"{self.settings.look_name} on the {self.settings.region}"

    def update(self, **changes: object) -> Settings:
        self.settings = self.settings.changed(**changes)
        self.processor.region = self.settings.region
        self.processor.look.name = self.settings.look_name
        return self.settings


def post(control: ControlServer, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", control.httpd.server_address[1], timeout=30)
    try:
        conn.request("POST", "/settings", body=body, headers={"X-DeepPhoto": "1", **(headers or {})})
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        conn.close()


def test_a_control_body_that_is_not_utf8_is_a_422_not_a_500() -> None:
    """A script writing its JSON in Latin-1 ('{"style": "caf\\xe9"}'): the run's control answered
    500 'UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 ...'; it is a 422 naming the
    problem now, and the run's settings are as they were."""
    pipe = _Pipe(Settings(effect="blur"))
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        status, body = post(control, b'{"strength": 0.5, "style": "caf\xe9"}')
        assert status == 422, body
        assert body["error"] == "not JSON: the body is not UTF-8 text"
        assert pipe.settings.strength == 1.0
        status, body = post(control, '\ufeff{"strength": 0.5}'.encode())  # a BOM (Windows' Notepad, PowerShell)
        assert status == 200 and body["settings"]["strength"] == 0.5
