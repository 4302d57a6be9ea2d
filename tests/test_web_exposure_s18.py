"""The Studio's "Keep the photo's light" (``Settings.keep_exposure``): through the HTTP API a dim photo's
painted background comes out darker with it on, for a named style, an uploaded painting and a
best-quality job; a bad value is a one-line error; the Camera tab's run and the Live tab take it too;
and in a real browser (Debian's chromium through Playwright, as ``test_web_browser.py``) the control is
there, labelled, and sent with the render request.

``DEEPPHOTO_EXPOSURE_SHOTS=DIR`` saves the browser test's screenshots (desktop and 390-pixel phone) there.
"""

from __future__ import annotations

import os
import sys
import time
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("httpx2", reason="FastAPI's test client needs httpx2 (the dev extra)")

from conftest import decoded, encoded, portrait  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from studio_page import chromium  # noqa: E402
from test_web_api import hello, one_line_error  # noqa: E402

from deepphoto.errors import DeepPhotoError  # noqa: E402
from deepphoto.stylizer import exposure_curve, mean_lightness  # noqa: E402
from deepphoto.web import jobs  # noqa: E402
from deepphoto.web.app import StudioConfig, create_app  # noqa: E402

LOCAL = "http://127.0.0.1"
SHOTS = Path(os.environ["DEEPPHOTO_EXPOSURE_SHOTS"]) if os.environ.get("DEEPPHOTO_EXPOSURE_SHOTS") else None
WAIT = 180_000  # ms: this machine is shared and slow


def dim(image: np.ndarray) -> np.ndarray:
    """``image`` two stops darker (a gain in linear light): an evening photo."""
    return cv2.LUT(image, exposure_curve(-2.0))


def lightness(image: np.ndarray, where: np.ndarray) -> float:
    """Mean CIELAB L* (0-100) of ``image`` where ``where`` is true."""
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_BGR2LAB)
    return float(lab[..., 0][where].mean())


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(StudioConfig(warm=False, max_jobs=1)), base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="module")
def evening(client):
    """A dim 480x640 PNG portrait uploaded by one page: (headers, photo id, image, background mask)."""
    headers = hello(client)
    image = dim(portrait())
    assert mean_lightness(image) < 35  # dim enough for the control to act (docs/benchmark/exposure.md)
    reply = client.post("/api/uploads/photo", content=encoded(image), headers=headers)
    assert reply.status_code == 200, reply.text
    photo = reply.json()["id"]
    mask = client.post("/api/render", json={"photo": photo, "view": "mask"}, headers=headers)
    assert mask.status_code == 200, mask.text
    background = decoded(mask.content)[..., 0] < 5
    assert background.mean() > 0.1
    return headers, photo, image, background


def render(client: TestClient, headers: dict[str, str], body: dict) -> np.ndarray:
    reply = client.post("/api/render", json={**body, "size": "full"}, headers=headers)  # a PNG: lossless
    assert reply.status_code == 200, reply.text
    return decoded(reply.content)


# ------------------------------------------------------------------ the API


def test_a_named_style_keeps_a_dim_photos_light_in_the_background(client, evening):
    headers, photo, image, background = evening
    body = {"photo": photo, "style": "wave", "region": "background"}
    off = render(client, headers, body)
    assert (render(client, headers, {**body, "keep_exposure": 0}) == off).all()  # 0 is the default: off
    on = render(client, headers, {**body, "keep_exposure": 1})
    half = render(client, headers, {**body, "keep_exposure": "0.5"})  # as Settings reads numbers
    photo_l, off_l, on_l, half_l = (lightness(x, background) for x in (image, off, on, half))
    # a style paints the evening's background as light as a day's; the control gives its light back
    assert off_l > photo_l + 10, (photo_l, off_l)
    assert on_l < off_l - 8, (off_l, half_l, on_l)
    assert on_l < half_l < off_l
    assert abs(on_l - photo_l) < abs(off_l - photo_l)
    person = ~background & (decoded(client.post(
        "/api/render", json={"photo": photo, "view": "mask"}, headers=headers).content)[..., 0] > 250)  # fmt: skip
    assert np.abs(on[person].astype(int) - off[person]).mean() < 2  # the unpainted person is left alone


def test_an_uploaded_painting_keeps_the_light_too(client, evening, monkeypatch):
    headers, photo, image, background = evening
    painting = cv2.applyColorMap(np.tile(np.arange(256, dtype=np.uint8), (256, 1)), cv2.COLORMAP_JET)
    up = client.post("/api/uploads/painting", content=encoded(painting, ".jpg"), headers=headers)
    assert up.status_code == 200, up.text
    body = {"photo": photo, "painting": up.json()["id"], "region": "background"}
    reply = client.post("/api/render", json={**body, "size": "full"}, headers=headers)
    if reply.status_code == 503:  # the any-painting networks are not fetched here: the same path, a stand-in
        photos = client.app.state.studio.photos
        monkeypatch.setattr(photos, "any_painting", lambda _painting, frame: np.full_like(frame, 128))
    off = render(client, headers, body)
    on = render(client, headers, {**body, "keep_exposure": 1})
    assert lightness(on, background) < lightness(off, background) - 8
    # the painting is corrected, then blended: strength 0 is still the photo itself (as deepphoto edit)
    assert (render(client, headers, {**body, "keep_exposure": 1, "strength": 0}) == image).all()


def test_a_best_quality_job_keeps_the_light_too(client, evening, monkeypatch):
    """The optimiser's painting (a stand-in here: no PyTorch or VGG needed) gets the light back as well."""
    headers, photo, image, background = evening
    monkeypatch.setattr(jobs, "torch_available", lambda: True)
    fake = types.ModuleType("deepphoto.optimizer")
    fake.paint_photo = lambda photo_image, *args, **kwargs: np.full_like(photo_image, 128)
    monkeypatch.setitem(sys.modules, "deepphoto.optimizer", fake)

    def job(**extra: object) -> np.ndarray:
        body = {"photo": photo, "style": "wave", "region": "background", "size": 64, **extra}
        state = client.post("/api/jobs", json=body, headers=headers).json()
        deadline = time.monotonic() + 120
        while state["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
            state = client.get(f"/api/jobs/{state['id']}", headers=headers).json()
        assert state["state"] == "done", state
        return decoded(client.get(f"/api/jobs/{state['id']}/result", headers=headers).content)

    off, on = job(), job(keep_exposure=1)
    assert lightness(on, background) < lightness(off, background) - 8
    bad = client.post("/api/jobs", json={"photo": photo, "style": "wave", "keep_exposure": 2}, headers=headers)
    assert "keep-exposure" in one_line_error(bad, 422)


def test_a_bad_value_is_one_line(client, evening):
    """Refused with the studio's bad-value status (422, as for strength) and one line naming it."""
    headers, photo, _, _ = evening
    for value in (3, -0.1, "lots", None, "nan"):
        reply = client.post(
            "/api/render", json={"photo": photo, "style": "wave", "keep_exposure": value}, headers=headers
        )
        assert "keep-exposure" in one_line_error(reply, 422), value


# ------------------------------------------------------------------ Camera and Live tabs


def test_the_camera_tabs_run_takes_it(monkeypatch):
    """The run's control endpoint accepts it (and refuses a bad value in one line), and a run the
    Camera tab starts gets it on its command line."""
    from deepphoto.pipeline import Pipeline
    from deepphoto.settings import Settings
    from deepphoto.web import camera
    from deepphoto.web.control import ControlServer

    settings = Settings(style="wave", backend="onnx", precision="fp32", style_scale=0.5, threads=1)
    with Pipeline(settings) as pipe:
        control = ControlServer("127.0.0.1:0", pipe)
        try:
            changed = control.change({"keep_exposure": 0.6})
            assert changed["settings"]["keep_exposure"] == 0.6 and pipe.settings.keep_exposure == 0.6
            assert pipe.stylizer is not None and pipe.stylizer.exposure == 0.6  # the painter uses it
            with pytest.raises(DeepPhotoError, match="keep-exposure"):
                control.change({"keep_exposure": 2})
        finally:
            control.httpd.server_close()

    from steered_runs import recorded_starts

    started = recorded_starts(monkeypatch)
    desk = camera.CameraDesk(Settings())
    desk.start("synthetic://", "null://", {"style": "wave", "keep_exposure": 0.75})
    cmd = started[0]
    assert cmd[cmd.index("--keep-exposure") + 1] == "0.75"


def test_the_live_tab_takes_it():
    from deepphoto.web.live import look_changes

    assert look_changes({"type": "settings", "style": "wave", "keep_exposure": 0.4})["keep_exposure"] == 0.4


# ------------------------------------------------------------------ the page, in a real browser


@pytest.fixture(scope="module")
def browser():
    with chromium(args=["--disable-background-networking", "--disable-component-update", "--disable-sync"]) as b:
        yield b


@pytest.fixture(scope="module")
def studio():
    from deepphoto.web.server import BackgroundServer

    with BackgroundServer(StudioConfig()) as server:
        yield server


def open_page(browser, studio, width: int, height: int):  # noqa: ANN001, ANN201
    # bypass_csp: Playwright's own waiting runs as evaluated script, which the page's policy forbids
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(WAIT)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(studio.url)
    page.wait_for_selector("body[data-ready=true]")
    return context, page, errors


def shot(page, name: str) -> None:  # noqa: ANN001
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=True)


def set_slider(page, selector: str, value: int) -> None:  # noqa: ANN001
    page.eval_on_selector(selector, f"el => {{ el.value = {value}; el.dispatchEvent(new Event('input')); }}")


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_page_has_a_labelled_control_that_changes_the_request(browser, studio, width, height):
    context, page, errors = open_page(browser, studio, width, height)
    try:
        control = page.get_by_role("slider", name="Keep the photo’s light", exact=True)  # the label names the slider
        assert control.get_attribute("id") == "keep-exposure"
        assert page.inner_text("#keep-exposure-out") == "off" and control.input_value() == "0"
        assert "light" in (page.get_attribute("label:has(#keep-exposure)", "title") or "")  # the tooltip
        assert "dim or bright" in page.inner_text("#keep-exposure-help")
        box, panel = page.locator("#keep-exposure").bounding_box(), page.locator("#photo .controls").bounding_box()
        assert box and panel and box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"]

        image = dim(portrait((640, 480)))
        page.set_input_files("#photo-file", files=[{"name": "evening.png", "mimeType": "image/png",
                                                     "buffer": encoded(image)}])  # fmt: skip
        page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview')")
        # unchanged: the page sends 0 (off); moved: the render asks for that much of the photo's light
        with page.expect_request("**/api/render") as first:
            set_slider(page, "#strength", 90)
        assert first.value.post_data_json["keep_exposure"] == 0
        page.wait_for_function("!window.studio.rendering")
        with page.expect_request("**/api/render") as asked:
            set_slider(page, "#keep-exposure", 80)
        assert asked.value.post_data_json["keep_exposure"] == 0.8
        assert page.inner_text("#keep-exposure-out") == "80%"
        page.wait_for_function("document.getElementById('photo-status').textContent.includes('light kept')")
        page.wait_for_function("document.getElementById('after').naturalWidth > 0")
        shot(page, f"photo-keep-light-{width}.png")

        # a classic effect is not a painting: the control is greyed out there
        page.select_option("#effect", "blur")
        assert page.is_disabled("#keep-exposure")
        page.click('#gallery button[data-style="wave"]')
        assert page.is_enabled("#keep-exposure")

        # the Camera tab's goes with the look a run is started or steered with (no run here: no request)
        page.click("#tab-camera")
        assert (
            page.get_by_role("slider", name="Keep the light", exact=True).get_attribute("id") == "camera-keep-exposure"
        )
        page.wait_for_function("document.getElementById('camera-status').textContent.startsWith('No run yet')")
        set_slider(page, "#camera-keep-exposure", 50)
        assert page.evaluate("cameraLook().keep_exposure") == 0.5
        assert page.is_hidden("#error")  # was "no run to steer"
        shot(page, f"camera-keep-light-{width}.png")
        page.click("#tab-live")
        assert page.get_by_role("slider", name="Keep the light", exact=True).get_attribute("id") == "live-keep-exposure"
        shot(page, f"live-keep-light-{width}.png")
        assert page.evaluate("liveSettings().keep_exposure") == 0  # the Live tab's, off until moved
    finally:
        context.close()
    assert not errors, errors  # no script error on the page
