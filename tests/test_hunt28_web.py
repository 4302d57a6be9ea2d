"""DeepPhoto Studio as a demanding new user meets it (hunt 28, web).

- A live offer opened the networks (segmenter, style network) before the offer was read: a junk
  offer, or one without a camera track, cost a pipeline's opening and was refused only afterwards.
  The offer is now read first; the networks open only for an offer that will be answered.
- "Take one with the camera", closed with the Escape key (the dialog's own way out), left the
  camera on: only the Cancel button stopped it.
- Live: a look or region chosen while the session was connecting (the networks opening) was lost:
  the page showed one look and the picture had the one of the moment Start was pressed.
- Camera tab: a look chosen while the run was starting showed "the run ... is not answering" and
  was lost (the run painted the look Start had sent, the page showed the other); one chosen before
  any run showed "no run to steer", though Start then took it; a run the user stopped was said to
  have "ended (exit status 130)".
- On a phone, an error line was shown at the top of the page, out of view when scrolled to the photo.
- An uploaded painting of 8-15 pixels a side, one too long and thin for best quality, or one flat
  colour was taken, where `edit --style-image` and add-style refuse it: the same check now.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("httpx2", reason="FastAPI's test client needs httpx2 (the dev extra)")

from conftest import encoded  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from studio_page import chromium, studio_page  # noqa: E402
from test_hunt27_web import MALFORMED_OFFERS  # noqa: E402
from test_web_api import hello, one_line_error  # noqa: E402

from deepphoto.web.app import StudioConfig, create_app  # noqa: E402

LOCAL = "http://127.0.0.1"


def browser_offer(video: bool) -> str:
    """A real offer, as a page makes it: a camera track (``video``) or only a microphone's."""
    from aiortc import AudioStreamTrack, RTCPeerConnection, VideoStreamTrack

    async def make() -> str:
        pc = RTCPeerConnection()
        try:
            pc.addTrack(VideoStreamTrack() if video else AudioStreamTrack())
            pc.createDataChannel("controls")
            await pc.setLocalDescription(await pc.createOffer())
            return pc.localDescription.sdp
        finally:
            await pc.close()

    return asyncio.run(make())


class CountedPipeline:
    """Stands for ``Pipeline``: counts the networks opened and closed."""

    opened = 0
    closed = 0

    def __init__(self, settings: object = None) -> None:
        type(self).opened += 1

    def describe(self) -> str:
        return "counted"

    def close(self) -> None:
        type(self).closed += 1


def test_a_junk_live_offer_opens_no_network(monkeypatch):
    pytest.importorskip("aiortc", reason="needs the web extra: pip install -e '.[web]'")
    import deepphoto.pipeline

    monkeypatch.setattr(CountedPipeline, "opened", 0)
    monkeypatch.setattr(CountedPipeline, "closed", 0)
    monkeypatch.setattr(deepphoto.pipeline, "Pipeline", CountedPipeline)
    head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    junk = [head + m for m in MALFORMED_OFFERS.values()] + ["v=0", "m=video\r\nfoo", "hello", browser_offer(False)]
    with TestClient(create_app(StudioConfig(warm=False, max_live=1)), base_url=LOCAL) as c:
        h = hello(c)
        live = c.app.state.studio.live
        for sdp in junk:
            one_line_error(c.post("/api/live/offer", json={"sdp": sdp, "type": "offer"}, headers=h), 422)
        assert CountedPipeline.opened == 0  # each had opened the networks before
        assert not live.sessions and live.slots.used == 0
        # an offer with a camera is answered, with the networks opened once, and closed with it
        reply = c.post("/api/live/offer", json={"sdp": browser_offer(True), "type": "offer"}, headers=h)
        assert reply.status_code == 200, reply.text
        assert CountedPipeline.opened == 1 and "m=video" in reply.json()["sdp"]
        c.post(f"/api/live/{reply.json()['session']}/close", headers=h)
        assert not live.sessions and CountedPipeline.closed == 1


# ------------------------------------------------------------------ in a real browser

WAIT = 60_000  # ms


def figure_frames(size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    import cv2

    w, h = size
    frames = []
    for i in range(30):
        img = np.full((h, w, 3), 120, np.uint8)
        x = w // 3 + (i % 10) * 3
        cv2.circle(img, (x + w // 8, h // 3), h // 8, (140, 170, 220), -1)
        cv2.rectangle(img, (x, h // 2), (x + w // 4, h), (60, 40, 120), -1)
        frames.append(img)
    return frames


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    pytest.importorskip("aiortc", reason="needs the web extra: pip install -e '.[web]'")
    from media import write_y4m

    with chromium(camera=write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m", figure_frames())) as b:
        yield b


@pytest.fixture(scope="module")
def studio():
    pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")
    from deepphoto.web.server import BackgroundServer

    with BackgroundServer(StudioConfig(warm=False)) as server:
        yield server


@pytest.fixture
def page(browser, studio):
    with studio_page(browser, studio.url, wait=WAIT) as page:
        yield page


def shown_error(page) -> str | None:
    return None if page.is_hidden("#error") else page.inner_text("#error-text")


def test_the_snapshot_camera_goes_off_when_its_dialog_is_closed_with_escape(page):
    page.click("#snap-open")
    page.wait_for_function("document.getElementById('snap-video').videoWidth > 0")
    page.evaluate("window.snapTracks = document.getElementById('snap-video').srcObject.getTracks()")
    page.keyboard.press("Escape")
    page.wait_for_function("!document.getElementById('snap').open")
    page.wait_for_function("window.snapTracks.every((t) => t.readyState === 'ended')", timeout=5000)
    assert page.evaluate("document.getElementById('snap-video').srcObject") is None


class SlowPipeline:
    """Stands for ``Pipeline`` in a live session: takes a moment to open, says its look, inverts."""

    def __init__(self, settings: object) -> None:
        time.sleep(1.5)  # the networks opening
        self.settings = settings

    def update(self, **changes: object) -> object:
        self.settings = self.settings.changed(**changes)
        return self.settings

    def describe(self) -> str:
        return f"{self.settings.style or self.settings.effect} on the {self.settings.region}"

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return 255 - image

    def close(self) -> None:
        pass


def test_a_live_look_chosen_while_connecting_is_the_one_painted(page, studio, monkeypatch):
    import deepphoto.pipeline

    monkeypatch.setattr(deepphoto.pipeline, "Pipeline", SlowPipeline)
    page.click("#tab-live")
    page.select_option("#live-look", "style:wave")
    page.click("#live-start")
    page.wait_for_function("document.getElementById('live-status').textContent.startsWith('Connecting')")
    page.select_option("#live-look", "style:scream")  # while the networks open
    page.check('input[name="live-region"][value="whole"]', force=True)
    page.wait_for_function("(window.studio.liveStats.look || '') !== ''")
    page.wait_for_function("window.studio.liveStats.look === 'scream on the whole'", timeout=15_000)
    page.click("#live-stop")
    live = studio.app.state.studio.live
    end = time.monotonic() + 15
    while live.sessions and time.monotonic() < end:
        time.sleep(0.1)
    assert not live.sessions


class StartingRun:
    """Stands for the Camera tab's ``CameraDesk``: a run that answers 2 s after it is started."""

    def __init__(self) -> None:
        self.started: list[dict] = []
        self.changes: list[dict] = []
        self.ready_at: float | None = None
        self.exit: int | None = None

    def ready(self) -> bool:
        return self.ready_at is not None and time.monotonic() >= self.ready_at

    def state(self) -> dict:
        running = self.ready_at is not None
        status = None
        if running:
            status = {"look": "a look", "fps": 5.0, "frames": 3} if self.ready() else {"error": "not answering"}
        return {
            "sources": {"synthetic://": "test pattern"},
            "outputs": {"null://": "none: preview only"},
            "attached": None,
            "started": {"source": "synthetic://", "output": "null://"} if running else None,
            "running": running,
            "exit": self.exit,
            "log": [],
            "status": status,
        }

    def start(self, source: str, output: str, look: dict, client: str | None = None) -> dict:
        self.started.append(look)
        self.ready_at = time.monotonic() + 2.0
        self.exit = None
        return self.state()

    def change(self, values: dict) -> dict:
        from deepphoto.web.errors import WebError

        if self.ready_at is None:
            raise WebError(409, "no run to steer: start one here, or start 'deepphoto serve --camera PORT'")
        if not self.ready():
            raise WebError(502, "the run at http://127.0.0.1:1 is not answering")
        self.changes.append(values)
        return self.state()

    def preview(self) -> bytes:
        import cv2

        return cv2.imencode(".jpg", np.zeros((24, 32, 3), np.uint8))[1].tobytes()

    def stop(self) -> dict:
        self.ready_at, self.exit = None, 130  # as `run` ends on the SIGINT the desk sends
        return self.state()

    def close(self) -> None:
        pass


def test_a_camera_look_chosen_while_a_run_starts_is_no_error_and_is_applied(page, studio, monkeypatch):
    run = StartingRun()
    monkeypatch.setattr(studio.app.state.studio, "camera", run)
    page.click("#tab-camera")
    page.wait_for_function("document.getElementById('camera-status').textContent.startsWith('No run yet')")
    page.select_option("#camera-look", "style:udnie")  # before a run: what Start takes, no error
    time.sleep(0.5)
    assert shown_error(page) is None  # was "no run to steer", though Start then took the look
    page.click("#camera-start")
    page.wait_for_function("document.getElementById('camera-status').textContent.startsWith('Starting')")
    assert run.started[-1]["style"] == "udnie"
    page.select_option("#camera-look", "style:scream")  # while the run starts
    time.sleep(0.5)
    assert shown_error(page) is None
    page.wait_for_function("document.getElementById('camera-status').textContent.startsWith('Running')")
    end = time.monotonic() + 10
    while not run.changes and time.monotonic() < end:
        time.sleep(0.1)
    assert run.changes and run.changes[-1]["style"] == "scream"
    assert shown_error(page) is None
    page.click("#camera-stop")  # said as what it is, not as a failure ("ended (exit status 130)")
    page.wait_for_function("document.getElementById('camera-status').textContent === 'The run was stopped.'")
    page.select_option("#camera-look", "style:wave")  # for the next Start: no error
    time.sleep(0.5)
    assert shown_error(page) is None and len(run.changes) == 1


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(StudioConfig(warm=False)), base_url=LOCAL) as c:
        yield c


def test_an_uploaded_painting_is_refused_as_edit_refuses_it(client):
    """The page took a 12x12 painting and one flat colour (a silent wash) that `edit --style-image`
    and add-style refuse: the same check now, at the upload."""
    headers = hello(client)
    for picture, says in [
        (np.random.default_rng(0).integers(0, 255, (12, 12, 3), dtype=np.uint8), "a painting of 12x12 pixels"),
        (np.full((64, 64, 3), 90, np.uint8), "is one flat colour"),
    ]:
        reply = client.post("/api/uploads/painting", content=encoded(picture, ".png"), headers=headers)
        assert reply.status_code == 422 and says in reply.json()["error"], reply.text


def test_an_error_shows_on_a_phone_scrolled_down_to_the_photo(browser, studio):
    """The error line sat at the top of the page, out of view on a phone scrolled down to the photo."""
    with studio_page(browser, studio.url, width=375, height=667, wait=WAIT) as page:
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        assert page.evaluate("window.scrollY") > 300
        page.evaluate("showError('a one-line error')")
        top = page.eval_on_selector("#error", "el => el.getBoundingClientRect().top")
        assert 0 <= top < 100, top  # was far above the viewport
