"""Hunt 34 (livestrength): the style strength (``--strength``: how much of the painting is blended
in) tuned while live, as the other live controls are: through a run's control channel
(``deepphoto run ... --control``), the Studio's Camera tab (which steers such a run) and its Live tab
(the browser's camera over WebRTC). It takes effect on the next frames, without the run or the
painter opened again, is checked as the command line checks it, and a change leaves the temporal
smoothing steady (the frames after it as still as the frames before)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from conftest import SHARED
from steered_runs import answering, steered_run, stopped

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import mix
from deepphoto.pipeline import Pipeline
from deepphoto.settings import Settings

SMALL = dict(backend="onnx", precision="fp32", style_scale=0.5, threads=1)


def portrait(size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A portrait of the shared set, else a drawn figure before a textured wall."""
    folder = SHARED / "seg" / "portraits" / "images"
    files = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    image = cv2.imread(str(files[0])) if files else None
    if image is not None:
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    w, h = size
    # a wall of soft stripes, not pixel noise: a browser's WebRTC codes noise far off at this size,
    # and the live test, comparing what is shown with the camera, failed where the set is absent
    y, x = np.mgrid[0:h, 0:w]
    wall = 140 + 50 * np.sin(x / 9.0) * np.cos(y / 13.0)
    image = np.clip(np.stack([wall, wall * 0.9, wall * 0.8], axis=-1), 0, 255).astype(np.uint8)
    cv2.circle(image, (w // 2, h // 3), w // 9, (140, 170, 220), -1)
    cv2.ellipse(image, (w // 2, h), (w // 5, h // 2), 0, 0, 360, (60, 40, 120), -1)
    return image


def noisy_still(image: np.ndarray, n: int) -> list[np.ndarray]:
    """``n`` frames of a still camera: the picture with a webcam's sensor noise."""
    rng = np.random.default_rng(0)
    return [np.clip(image.astype(int) + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8) for _ in range(n)]


def request(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


HEADERS = {"X-DeepPhoto": "1", "Content-Type": "application/json"}


# ------------------------------------------------------------------ the control channel


def test_the_control_channel_changes_strength_between_frames_and_smoothing_stays_steady():
    """POST /settings {"strength": ...} on a run's control endpoint: the next frames are blended at
    it (0: the frame itself), with the same painter; a bad value is refused in the command line's
    words and changes nothing. On a still camera the change is one step to the new blend (what the
    held painting at the new strength is), and the frames after it are as steady as before."""
    from deepphoto.web.control import ControlServer

    frames = noisy_still(portrait(), 48)
    outs: list[np.ndarray] = []
    with Pipeline(Settings(style="wave", region="whole", **SMALL)) as pipe, ControlServer("127.0.0.1:0", pipe) as ctl:
        for f in frames[:16]:
            outs.append(pipe(f).astype(int))
        painter = pipe.stylizer
        status, body = request(ctl.url + "settings", {"strength": 0.6}, HEADERS)
        assert status == 200, body
        assert body["settings"]["strength"] == 0.6 and pipe.settings.strength == 0.6
        for f in frames[16:32]:
            outs.append(pipe(f).astype(int))
        status, body = request(ctl.url + "settings", {"strength": 1.5}, HEADERS)
        assert status == 422 and body["error"] == "strength 1.5: must be from 0 to 1"  # as --strength 1.5 says
        status, body = request(ctl.url + "settings", {"strength": "much"}, HEADERS)
        assert status == 422 and body["error"] == "strength 'much': must be a number"
        assert request(ctl.url + "status")[1]["settings"]["strength"] == 0.6  # the refusals changed nothing
        assert ctl.change({"strength": 0})["settings"]["strength"] == 0.0
        for f in frames[32:]:
            outs.append(pipe(f).astype(int))
        assert pipe.stylizer is painter  # the painter was not opened again

    steps = [float(np.abs(outs[i] - outs[i - 1]).mean()) for i in range(1, len(outs))]
    steady = max(steps[4:15])  # frames 5-15: held still (the style network's crawl held off)
    assert max(steps[16:31]) <= steady + 0.5, steps  # after the change: as steady as before it
    # the change itself: the painting held before it, blended with the frame at 0.6, nothing more
    wanted = mix(outs[15].astype(np.uint8), frames[16], 0.6).astype(int)
    assert float(np.abs(outs[16] - wanted).mean()) < 3.0
    assert float(np.abs(outs[16] - outs[15]).mean()) > 5.0  # it did change the frames
    for out, frame in zip(outs[32:], frames[32:]):  # strength 0: the camera's own picture, as it came
        assert np.array_equal(out, frame)  # (hunt 35: no painting held over it, its noise frozen there)


def test_a_strength_change_keeps_the_look_and_region_the_windows_keys_chose():
    """``deepphoto run CAMERA display:// --style wave --control PORT``: 's' and 'r' in the window
    show starry-night on the person; a strength (or threshold) sent to the control endpoint changes
    that only, where it went back to wave on the background; a look or region asked for is shown."""
    from deepphoto.stream.loop import handle_key
    from deepphoto.web.control import ControlServer

    frame = portrait((160, 120))
    with Pipeline(Settings(style="wave", **SMALL), cycle_looks=True) as pipe:  # as 'run' makes it for a window
        control = ControlServer("127.0.0.1:0", pipe)
        try:
            pipe(frame)
            handle_key(ord("s"), pipe.processor, frame)
            handle_key(ord("r"), pipe.processor, frame)
            chosen = pipe.describe()
            assert chosen != "wave on the background"
            assert control.change({"strength": 0.5})["look"] == chosen
            assert pipe.settings.strength == 0.5
            assert control.change({"threshold": 0.4, "keep_exposure": 0.5})["look"] == chosen
            assert control.change({"style": "wave"})["look"] == f"wave on the {pipe.processor.region}"
            assert control.change({"region": "background"})["look"] == "wave on the background"
        finally:
            control.httpd.server_close()


def test_a_run_started_with_strength_is_steered_to_another():
    """``deepphoto run synthetic:// null:// --style wave --strength 0.2 --control PORT``: its status
    says 0.2; a POST changes it while it runs (frames go on), a bad one is the one-line 422."""
    from deepphoto.web.camera import ControlLink, free_port

    port = free_port()
    run = steered_run(port, "--style", "wave", "--strength", "0.2")
    link = ControlLink("127.0.0.1", port)
    try:
        status = answering(link, run)
        assert status["settings"]["strength"] == 0.2
        changed = link.change({"strength": 0.9})
        assert changed["settings"]["strength"] == 0.9
        frames = changed["frames"]
        deadline = time.monotonic() + 120
        while link.status()["frames"] < frames + 3 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert link.status()["frames"] >= frames + 3 and run.poll() is None  # the same run goes on
        code, body = request(f"http://127.0.0.1:{port}/settings", {"strength": -0.1}, HEADERS)
        assert code == 422 and body["error"] == "strength -0.1: must be from 0 to 1"
    finally:
        out, err = stopped(run)
    assert "Traceback" not in err


def test_the_camera_tab_starts_its_run_at_the_strength_shown(monkeypatch):
    from steered_runs import recorded_starts

    from deepphoto.web import camera

    started = recorded_starts(monkeypatch)
    desk = camera.CameraDesk(Settings())
    desk.start("synthetic://", "null://", {"style": "wave", "strength": 0.4})
    assert started[0][started[0].index("--strength") + 1] == "0.4"
    with pytest.raises(DeepPhotoError, match="strength 7: must be from 0 to 1"):
        desk.start("synthetic://", "null://", {"style": "wave", "strength": 7})
    desk.start("synthetic://", "null://", {"effect": "blur", "strength": 0.4})  # an effect is applied whole:
    assert "--strength" not in started[-1]  # not given (the run would warn it is left unused)


def test_the_live_tab_takes_it_and_refuses_a_bad_one_in_one_line():
    from deepphoto.web.live import look_changes

    assert look_changes({"type": "settings", "style": "wave", "strength": 0.3})["strength"] == 0.3
    with pytest.raises(DeepPhotoError, match=r"^strength 2: must be from 0 to 1$"):
        Settings().changed(**look_changes({"type": "settings", "strength": 2}))


# ------------------------------------------------------------------ the Studio in a real browser

LIVE_DIFF = """() => {
  const out = document.getElementById("live-out"), local = document.getElementById("live-local");
  const w = out.width, h = out.height, c = document.createElement("canvas");
  c.width = w; c.height = h;
  const ctx = c.getContext("2d");
  ctx.drawImage(local, 0, 0, w, h);
  const raw = ctx.getImageData(0, 0, w, h).data, shown = out.getContext("2d").getImageData(0, 0, w, h).data;
  let diff = 0;
  for (let i = 0; i < raw.length; i += 4)
    diff += Math.abs(raw[i] - shown[i]) + Math.abs(raw[i + 1] - shown[i + 1]) + Math.abs(raw[i + 2] - shown[i + 2]);
  return diff / (w * h * 3);
}"""


@pytest.fixture(scope="module")
def studio():
    pytest.importorskip("aiortc", reason="needs the web extra: pip install -e '.[web]'")
    from studio_page import background_studio

    with background_studio(settings=Settings(**SMALL)) as server:
        yield server


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from media import write_y4m
    from studio_page import chromium

    clip = write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m", noisy_still(portrait(), 30))
    with chromium(camera=clip, args=["--disable-background-networking", "--disable-sync"]) as b:
        yield b


def frames_after(page, n: int) -> None:  # noqa: ANN001
    start = page.evaluate("window.studio.liveStats.frames")
    page.wait_for_function(f"window.studio.liveStats.frames >= {start + n}")


def test_the_live_tabs_strength_slider_blends_the_painting_live(browser, studio):
    """Live tab: wave on the whole picture, the Strength slider moved to 0% mid-session: the frames
    shown come to be the camera's own picture, then back at 100% painted again; the session's
    pipeline and painter stay the same; a bad value sent is said on the page in the command line's
    words; the slider is greyed out for a classic effect."""
    from studio_page import studio_page

    with studio_page(browser, studio.url) as page:
        page.click("#tab-live")
        panel = page.locator("section#live")
        slider = panel.get_by_role("slider", name="Strength", exact=True)
        assert slider.get_attribute("id") == "live-strength" and page.inner_text("#live-strength-out") == "100%"
        page.select_option("#live-look", "style:wave")
        page.check('input[name="live-region"][value="whole"]', force=True)
        page.uncheck("#live-mirror")
        page.click("#live-start")
        page.wait_for_function("window.studio.liveStats.frames > 5")
        frames_after(page, 3)
        painted = page.evaluate(LIVE_DIFF)
        assert painted > 20, painted  # the painting, not the camera
        (session,) = studio.app.state.studio.live.sessions.values()
        pipe, painter = session.pipe, session.pipe.stylizer

        slider.fill("0")
        assert page.inner_text("#live-strength-out") == "0%" and page.evaluate("liveSettings().strength") == 0
        page.wait_for_function(f"({LIVE_DIFF})() < {min(12.0, painted / 3)}")  # the camera's own picture
        assert pipe.settings.strength == 0.0
        slider.fill("100")
        page.wait_for_function(f"({LIVE_DIFF})() > {painted * 0.6}")  # painted again
        assert session.pipe is pipe and pipe.stylizer is painter  # neither opened again

        page.evaluate("window.studio.live.channel.send(JSON.stringify({type: 'settings', strength: 1.5}))")
        page.wait_for_selector("#error:not([hidden])")
        assert page.inner_text("#error-text") == "strength 1.5: must be from 0 to 1"
        page.click("#error-close")

        page.select_option("#live-look", "effect:blur")
        assert page.is_disabled("#live-strength")
        page.select_option("#live-look", "style:wave")
        assert page.is_enabled("#live-strength")
        page.click("#live-stop")


def test_the_camera_tab_starts_and_steers_strength(browser, studio):
    """Camera tab: a run started at the strength shown (40%), then steered to 70% by the slider: the
    same run (its process) takes it, and its status says so."""
    from studio_page import studio_page

    desk = studio.app.state.studio.camera
    with studio_page(browser, studio.url) as page:
        page.click("#tab-camera")
        page.wait_for_selector('#camera-source option[value="synthetic://"]', state="attached")
        page.select_option("#camera-source", "synthetic://")
        page.select_option("#camera-output", "null://")
        page.select_option("#camera-look", "style:wave")
        slider = page.locator("section#camera").get_by_role("slider", name="Strength", exact=True)
        slider.fill("40")
        page.click("#camera-start")
        page.wait_for_function("document.getElementById('camera-status').textContent.includes('fps')")
        assert desk.current().status()["settings"]["strength"] == 0.4
        process = desk.process
        slider.fill("70")
        deadline = time.monotonic() + 60
        while desk.current().status()["settings"]["strength"] != 0.7 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert desk.current().status()["settings"]["strength"] == 0.7
        assert desk.process is process and process.poll() is None  # steered, not started again
        assert page.is_hidden("#error")
        page.click("#camera-stop")
        page.wait_for_function("/was stopped|ended/.test(document.getElementById('camera-status').textContent)")


def test_the_camera_tab_shows_a_steered_runs_strength_and_keeps_it(browser):
    """``deepphoto serve --camera PORT`` beside ``deepphoto run ... --strength 0.3 --threshold 0.4
    --control PORT``: the Camera tab's controls show the run's settings (30%, 0.40), and changing the
    region changes the region only: the page's defaults (100%, 0.50) were sent with it, the painting
    jumping to full strength."""
    from studio_page import background_studio, studio_page

    from deepphoto.web.camera import ControlLink, free_port

    port = free_port()
    run = steered_run(port, "--style", "wave", "--strength", "0.3", "--threshold", "0.4")
    link = ControlLink("127.0.0.1", port)
    try:
        with background_studio(settings=Settings(**SMALL), camera=f"127.0.0.1:{port}") as server:
            with studio_page(browser, server.url) as page:
                page.click("#tab-camera")
                page.wait_for_function("document.getElementById('camera-status').textContent.includes('fps')")
                assert page.inner_text("#camera-strength-out") == "30%"
                assert page.inner_text("#camera-threshold-out") == "0.40"
                assert page.input_value("#camera-look") == "style:wave"
                assert page.is_checked('input[name="camera-region"][value="background"]')
                page.check('input[name="camera-region"][value="whole"]', force=True)
                deadline = time.monotonic() + 60
                while link.status()["settings"]["region"] != "whole" and time.monotonic() < deadline:
                    time.sleep(0.2)
                settings = link.status()["settings"]
                assert settings["region"] == "whole"
                assert settings["strength"] == 0.3 and settings["threshold"] == 0.4  # kept
                assert page.is_hidden("#error")
    finally:
        stopped(run)
