"""Hunt 35 (jsonapi): the JSON endpoints that take settings, as scripts send them (a Stream Deck
button, curl, home automation): ``deepphoto run ... --control`` (POST /settings) and the Studio's
/api/camera/*, /api/render and /api/jobs. A bad value or body is a 4xx with one line in the command
line's words, never a 500 or a Python word, and nothing is half-applied."""

from __future__ import annotations

import http.client
import json
import re
from types import SimpleNamespace

import pytest
from steered_runs import StandInPipe

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import Settings
from deepphoto.web.control import ControlServer


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
    pipe = StandInPipe(Settings(effect="blur"))
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        status, body = post(control, b'{"strength": 0.5, "style": "caf\xe9"}')
        assert status == 422, body
        assert body["error"] == "not JSON: the body is not UTF-8 text"
        assert pipe.settings.strength == 1.0
        status, body = post(control, '\ufeff{"strength": 0.5}'.encode())  # a BOM (Windows' Notepad, PowerShell)
        assert status == 200 and body["settings"]["strength"] == 0.5


def studio_client():
    """The Studio app (no networks opened: every request here is refused before them) and its page's id."""
    from fastapi.testclient import TestClient

    from deepphoto.web.app import StudioConfig, create_app

    return TestClient(create_app(StudioConfig(warm=False, rate=1e6)), base_url="http://127.0.0.1")


def upload_photo(client, page: str) -> str:
    import cv2
    import numpy as np

    image = np.full((48, 64, 3), 120, np.uint8)
    data = cv2.imencode(".jpg", image)[1].tobytes()
    reply = client.post("/api/uploads/photo", content=data, headers={"X-DeepPhoto-Client": page})
    assert reply.status_code == 200, reply.text
    return reply.json()["id"]


def test_json_null_true_and_false_are_named_as_json_writes_them_not_as_python_does() -> None:
    """``{"strength": null}`` was answered 'strength None: must be a number', ``{"region": null}``
    'unknown region None', ``{"refine": null}`` 'refine None', ``{"style": true}`` 'style True', and
    an object sent for a number came back in Python's quotes ({'a': 1}): JSON's own words now, on the
    run's control, the Studio's photo endpoint and the Live tab's mirror; a long value is cut short."""
    from deepphoto.web.errors import WebError
    from deepphoto.web.live import mirror_of

    expected = {
        "strength": (None, "strength null: must be a number"),
        "region": (None, "unknown region null: choose from whole, background, person"),
        "feather": (None, "feather null: must be a whole number"),
        "refine": (None, "refine null: must be true or false"),
        "style": (True, "style true: must be a style's name (text), e.g. 'wave'"),
        "threshold": (False, "threshold false: must be a number"),
        "keep_exposure": ({"a": 1}, 'keep-exposure {"a": 1}: must be a number'),
        "smooth": ("x" * 200, "smooth '" + "x" * 56 + "...: must be a number"),
    }
    pipe = StandInPipe(Settings(effect="blur"))
    before = pipe.settings
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        for key, (value, message) in expected.items():
            good = {"feather": 9} if key != "feather" else {"strength": 0.25}
            status, body = post(control, json.dumps({key: value, **good}).encode())
            assert (status, body.get("error")) == (422, message), key
            assert pipe.settings == before  # the good value of the two is not applied alone
    with studio_client() as client:
        page = client.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}).json()["client"]
        photo = upload_photo(client, page)
        for key, (value, message) in expected.items():
            if key == "smooth":  # not a photo's setting: the photo takes no smoothing
                continue
            reply = client.post("/api/render", json={"photo": photo, key: value}, headers={"X-DeepPhoto-Client": page})
            assert (reply.status_code, reply.json()["error"]) == (422, message), key
        reply = client.post("/api/render", json={"photo": photo, "size": None}, headers={"X-DeepPhoto-Client": page})
        assert reply.json()["error"] == "unknown size null: choose from preview, full"
    try:
        mirror_of(None)
    except WebError as exc:
        assert str(exc) == "mirror null: must be true or false"
    else:
        raise AssertionError("mirror null was taken")


def test_a_settings_request_too_large_is_refused_with_its_own_limit() -> None:
    """10 MB sent to /api/camera/settings (a script's runaway loop): refused as 'request is too
    large (at most 0 MB and 50 megapixels)', the photos' limit rounded away; now 'at most 256 KB'.
    An upload is still refused by its own limit."""
    with studio_client() as client:
        page = client.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}).json()["client"]
        big = b'{"strength": "' + b" " * (10 * 2**20) + b'"}'
        for path in ("/api/camera/settings", "/api/render"):
            reply = client.post(path, content=big, headers={"X-DeepPhoto-Client": page})
            assert (reply.status_code, reply.json()["error"]) == (413, "request is too large (at most 256 KB)"), path
        reply = client.post("/api/uploads/photo", content=b"\xff" * (26 * 2**20), headers={"X-DeepPhoto-Client": page})
        assert (reply.status_code, reply.json()["error"]) == (413, "photo is too large (at most 25 MB)")


def test_a_camera_run_started_with_refine_off_runs_with_refine_off(monkeypatch) -> None:
    """POST /api/camera/start with ``"look": {"refine": false}`` was taken (200), and the run it
    started refined its mask anyway: the command it ran had no --no-refine. It has now, and a
    refined look's run still refines."""
    import deepphoto.web.camera as camera

    started: list[list[str]] = []

    def popen(cmd: list[str], **kwargs: object) -> SimpleNamespace:
        started.append(cmd)
        return SimpleNamespace(stdout=[], poll=lambda: None)

    monkeypatch.setattr(camera.subprocess, "Popen", popen)
    monkeypatch.setattr(camera, "free_port", lambda: 9)  # the discard port: nothing answers there
    for refine in (False, True):
        desk = camera.CameraDesk(Settings())
        desk.start("synthetic://", "null://", {"refine": refine, "strength": 0.5})
        desk.process = None  # nothing to stop
    assert "--no-refine" in started[0]
    assert "--no-refine" not in started[1]


def test_a_camera_start_without_a_source_names_what_is_missing_not_none() -> None:
    """POST /api/camera/start without "source" (a script's typo: "camera") was answered 'unknown
    camera 'None'', and a list for it 'unknown camera "['a']"', both through str(): now one line
    naming what is missing, or the value as JSON writes it."""
    with studio_client() as client:
        page = client.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}).json()["client"]
        headers = {"X-DeepPhoto-Client": page}
        reply = client.post("/api/camera/start", json={"output": "null://"}, headers=headers)
        assert reply.status_code == 422
        assert reply.json()["error"].startswith('no camera given ("source"): choose from ')
        assert "synthetic://" in reply.json()["error"]
        reply = client.post("/api/camera/start", json={"source": ["a"], "output": "null://"}, headers=headers)
        assert reply.status_code == 422 and reply.json()["error"].startswith('unknown camera ["a"]: choose from ')
        reply = client.post("/api/camera/start", json={"source": "synthetic://"}, headers=headers)
        assert reply.json()["error"] == 'no output given ("output"): choose from vcam://, null://'
        assert client.get("/api/camera", headers=headers).json()["running"] is False


def test_a_live_settings_message_that_is_not_json_is_named_so() -> None:
    """The Live tab's data channel (a script's own WebRTC client): 'nope' was answered 'Expecting
    value: line 1 column 1 (char 0)', a message with a byte order mark 'Unexpected UTF-8 BOM (decode
    using utf-8-sig)', and thousands of brackets 'RecursionError: maximum recursion depth exceeded
    ...': now 'not JSON: ...' lines, a BOM is read as the HTTP endpoints read it, and nothing is
    pending from a refused message."""
    import asyncio

    from deepphoto.web.live import LiveSession

    async def messages() -> list[tuple[list[dict], dict]]:
        session = LiveSession("page", None, False, 0)
        session.pipe = SimpleNamespace(settings=Settings(style="wave"))
        seen: list[tuple[list[dict], dict]] = []
        try:
            for text in ("nope", "[" * 100_000, '\ufeff{"type": "settings", "strength": 0.5}'):
                sent: list[dict] = []
                session.send = sent.append  # type: ignore[method-assign]
                session.on_message(text)
                seen.append((sent, dict(session.pending)))
        finally:
            await session.pc.close()
            session.pool.shutdown()
        return seen

    (bad, pending_bad), (deep, pending_deep), (bom, pending_bom) = asyncio.run(messages())
    assert bad == [{"type": "error", "message": "not JSON: Expecting value"}] and pending_bad == {}
    assert deep == [{"type": "error", "message": "not JSON: nested too deeply"}] and pending_deep == {}
    assert bom == [] and pending_bom == {"strength": 0.5}


def test_a_control_body_of_nested_brackets_is_a_422_not_a_500() -> None:
    """60,000 '[' (within the 64 KB a change may be) sent to a run's control answered 500
    'RecursionError: maximum recursion depth exceeded while decoding a JSON array ...'; it is a 422
    'not JSON: nested too deeply' now, and the run answers the next change."""
    pipe = StandInPipe(Settings(effect="blur"))
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        for body in (b"[" * 60_000, b'{"a":' * 10_000):
            assert post(control, body) == (422, {"error": "not JSON: nested too deeply"})
        status, body = post(control, b'{"strength": 0.5}')
        assert status == 200 and body["settings"]["strength"] == 0.5


def test_a_live_look_of_false_or_zero_is_refused_not_taken_as_no_style() -> None:
    """``{"style": false}`` (or 0, or []) sent to a Live session was taken as 'no style' and the
    painting went away for blur without a word, where the run's control and the Studio refuse it
    ('style false: must be a style's name'); it is refused alike now. '' still means none."""
    from deepphoto.web.live import look_changes

    for value, shown in ((False, "false"), (0, "0"), ([], "[]")):
        with pytest.raises(DeepPhotoError, match=re.escape(f"style {shown}: must be a style's name")):
            Settings(style="wave").changed(**look_changes({"type": "settings", "style": value}))
    with pytest.raises(DeepPhotoError, match="^unknown effect false: choose from"):
        Settings(style="wave").changed(**look_changes({"effect": False}))
    assert look_changes({"style": "", "effect": "grey"}) == {"style": None, "effect": "grey"}


def test_a_photo_look_of_false_or_zero_is_refused_not_rendered_as_blur() -> None:
    """/api/render with ``{"style": false}`` (or 0, or []) rendered the photo blurred (200), as if
    no look had been asked for; it is refused as the run's control refuses it now."""
    with studio_client() as client:
        page = client.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}).json()["client"]
        photo = upload_photo(client, page)
        for key, value, message in (
            ("style", False, "style false: must be a style's name (text), e.g. 'wave'"),
            ("style", 0, "style 0: must be a style's name (text), e.g. 'wave'"),
            ("effect", [], "unknown effect []: choose from "),
        ):
            reply = client.post("/api/render", json={"photo": photo, key: value}, headers={"X-DeepPhoto-Client": page})
            assert reply.status_code == 422 and reply.json()["error"].startswith(message), (key, value)


def test_an_empty_or_chunked_control_body_is_read_or_named_not_called_too_large() -> None:
    """An empty POST /settings was answered 'send a JSON object of at most 64 KB', as if it were too
    large; it is told it is empty now. A chunked one (a script streaming its 17 bytes) was answered
    the same, unread: it is read now (and one past 64 KB is still a 413)."""
    pipe = StandInPipe(Settings(effect="blur"))
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        assert post(control, b"") == (422, {"error": 'the body is empty: send a JSON object such as {"style": "wave"}'})
        assert pipe.settings.strength == 1.0
        conn = http.client.HTTPConnection("127.0.0.1", control.httpd.server_address[1], timeout=30)
        try:
            body = iter([b'{"strength":', b" 0.5}"])  # no length: http.client sends it chunked
            conn.request("POST", "/settings", body=body, headers={"X-DeepPhoto": "1"})
            reply = conn.getresponse()
            assert reply.status == 200 and json.loads(reply.read())["settings"]["strength"] == 0.5
        finally:
            conn.close()


def test_a_camera_change_too_large_for_the_run_is_a_413_not_a_502() -> None:
    """/api/camera/settings with 100 KB of JSON (within the Studio's 256 KB, past the run's 64 KB)
    was answered 502, a server's failure, though the run had said 413 'send a JSON object of at
    most 64 KB': the run's refusal of the request now keeps its status."""
    from fastapi.testclient import TestClient

    from deepphoto.web.app import StudioConfig, create_app

    pipe = StandInPipe(Settings(effect="blur"))
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        config = StudioConfig(warm=False, rate=1e6, camera=f"127.0.0.1:{control.httpd.server_address[1]}")
        with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
            page = client.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}).json()["client"]
            reply = client.post(
                "/api/camera/settings", json={"style": "x" * 100_000}, headers={"X-DeepPhoto-Client": page}
            )
            assert (reply.status_code, reply.json()["error"]) == (413, "send a JSON object of at most 64 KB")
            reply = client.post("/api/camera/settings", json={"strength": 2}, headers={"X-DeepPhoto-Client": page})
            assert (reply.status_code, reply.json()["error"]) == (422, "strength 2: must be from 0 to 1")


def test_a_negative_zero_is_taken_as_zero_not_reported_as_minus_zero() -> None:
    """``{"strength": -0.0}`` (JSON's negative zero, which Python's json writes for -0.0) was
    taken and the run's status then reported "strength": -0.0 (a Stream Deck's display: '-0');
    it is 0.0 now (and the command line's --strength -0 too)."""
    pipe = StandInPipe(Settings(style="wave"))
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        status, _ = post(control, b'{"strength": -0.0, "keep_exposure": "-0", "smooth": -0.0}')
        conn = http.client.HTTPConnection("127.0.0.1", control.httpd.server_address[1], timeout=30)
        conn.request("GET", "/status")
        text = conn.getresponse().read().decode()
        conn.close()
    assert status == 200
    assert '"strength": 0.0' in text and '"keep_exposure": 0.0' in text and '"smooth": 0.0' in text, text
    assert "-0" not in text


def test_a_style_sent_with_spaces_around_it_is_that_style() -> None:
    """``{"style": "wave "}`` painted wave, but the run's status then said "style": "wave " and its
    look 'wave  on the background' (two spaces), which the Camera tab, not finding among its looks,
    added as a second 'wave (the run's)': the style is 'wave' now."""
    pipe = StandInPipe(Settings(effect="blur"))
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        status, body = post(control, b'{"style": " wave "}')
    assert status == 200
    assert body["settings"]["style"] == "wave" and body["look"] == "wave on the background"
    assert Settings(style=" wave:0.7, scream:0.3 ").style == "wave:0.7, scream:0.3"


def test_a_whole_number_past_a_floats_range_is_out_of_range_not_a_500() -> None:
    """``{"strength": 1000...0}`` (1 and 400 zeros: JSON has no limit, Python reads it as a whole
    number) made the run's control answer 500 'OverflowError: int too large to convert to float'
    and the Studio 500 too; it is 'strength 1000...: must be from 0 to 1' now, cut short."""
    huge = "1" + "0" * 400
    pipe = StandInPipe(Settings(effect="blur"))
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        for key, bound in (
            ("strength", "from 0 to 1"),
            ("threshold", "above 0 and below 1"),
            ("feather", "from 0 to 64"),
        ):
            status, body = post(control, f'{{"{key}": {huge}}}'.encode())
            assert (status, body["error"]) == (422, f"{key} {huge[:57]}...: must be {bound}"), key
    with studio_client() as client:
        page = client.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}).json()["client"]
        photo = upload_photo(client, page)
        reply = client.post(
            "/api/render", content=f'{{"photo": "{photo}", "strength": -{huge}}}', headers={"X-DeepPhoto-Client": page}
        )
        assert (reply.status_code, reply.json()["error"]) == (422, f"strength -{huge[:56]}...: must be from 0 to 1")


def test_a_number_of_thousands_of_digits_is_named_not_a_500() -> None:
    """A number of 5,000 digits (within 64 KB) made a run's control answer 500 'ValueError: Exceeds
    the limit (4300 digits) for integer string conversion ...; use sys.set_int_max_str_digits() to
    increase the limit', and a Live session say the same: now 'not JSON: a number in it is too long'."""
    import asyncio

    from deepphoto.web.live import LiveSession

    text = '{"type": "settings", "strength": 1' + "0" * 5000 + "}"
    message = "not JSON: a number in it is too long (more than 4300 digits)"
    pipe = StandInPipe(Settings(effect="blur"))
    with ControlServer("127.0.0.1:0", pipe) as control:  # type: ignore[arg-type]
        assert post(control, text.replace('"type": "settings", ', "").encode()) == (422, {"error": message})

    async def live() -> list[dict]:
        session = LiveSession("page", None, False, 0)
        session.pipe = SimpleNamespace(settings=Settings(style="wave"))
        sent: list[dict] = []
        session.send = sent.append  # type: ignore[method-assign]
        try:
            session.on_message(text)
        finally:
            await session.pc.close()
            session.pool.shutdown()
        return sent

    assert asyncio.run(live()) == [{"type": "error", "message": message}]
