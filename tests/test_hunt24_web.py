"""DeepPhoto Studio, QA hunt 24: a transparent photo keeps its transparency (and its soft edges'
colours), a photo with no person is said to be left as it was, the camera's absence over plain
http:// is one readable line, a painting too thin for the optimiser is refused when its job starts,
the too-large message shows why, the uploaded painting's name goes when it is no longer used, a
blended style is refused by best quality at once, and best quality writes no console progress bar."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("httpx2", reason="FastAPI's test client needs httpx2 (the dev extra)")

from conftest import encoded, portrait  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from test_web_api import hello, one_line_error, png_claiming  # noqa: E402

from deepphoto.errors import DeepPhotoError  # noqa: E402
from deepphoto.web import jobs  # noqa: E402
from deepphoto.web.app import StudioConfig, create_app  # noqa: E402
from deepphoto.web.limits import UploadLimits  # noqa: E402

LOCAL = "http://127.0.0.1"
CHROMIUM = Path(os.environ.get("DEEPPHOTO_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="module")
def client():
    config = StudioConfig(warm=False, best_iterations=(3, 2), max_jobs=1)
    with TestClient(create_app(config), base_url=LOCAL) as c:
        yield c


def unchanged(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


def scenery(w: int = 600, h: int = 190) -> np.ndarray:
    """A picture with nobody in it: a sky over flat ground, lightly textured."""
    y = np.linspace(0, 1, h)[:, None, None]
    sky, ground = np.array([230, 190, 140], np.float32), np.array([60, 120, 90], np.float32)
    image = np.where(y < 0.6, sky * (1 - 0.3 * y), ground) * np.ones((h, w, 1), np.float32)
    image += np.random.default_rng(5).normal(0, 4, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def transparent(image: np.ndarray) -> np.ndarray:
    """``image`` as BGRA: its left third clear, a band of pure blue at half alpha beside it."""
    h, w = image.shape[:2]
    rgba = np.dstack([image, np.full((h, w), 255, np.uint8)])
    rgba[:, : w // 3, 3] = 0
    rgba[:, w // 3 : w // 3 + 20] = (255, 0, 0, 128)
    return rgba


def fake_optimiser(monkeypatch: pytest.MonkeyPatch, seen: list[dict] | None = None) -> None:
    """Best quality with a stand-in optimiser (no PyTorch or VGG needed): a flat grey painting."""
    monkeypatch.setattr(jobs, "torch_available", lambda: True)
    fake = types.ModuleType("deepphoto.optimizer")

    def paint_photo(image: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        if seen is not None:
            seen.append(kwargs)
        return np.full_like(image, 128)

    fake.paint_photo = paint_photo
    monkeypatch.setitem(sys.modules, "deepphoto.optimizer", fake)


def finished(client: TestClient, headers: dict[str, str], body: dict) -> dict:
    reply = client.post("/api/jobs", json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    state = reply.json()
    deadline = time.monotonic() + 300
    while state["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        state = client.get(f"/api/jobs/{state['id']}", headers=headers).json()
    return state


# ------------------------------------------------------------------ 1. transparency kept


@pytest.mark.parametrize("ext", [".png", ".webp"])
def test_a_transparent_photo_downloads_with_its_transparency(client, ext):
    headers = hello(client)
    rgba = transparent(portrait())
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if ext == ".webp" else []  # lossless
    item = client.post("/api/uploads/photo", content=encoded_with(rgba, ext, params), headers=headers).json()
    for size in ("full", "preview"):
        reply = client.post(
            "/api/render", json={"photo": item["id"], "style": "wave", "region": "background", "size": size}
        , headers=headers)  # fmt: skip
        assert reply.status_code == 200, reply.text
        out = unchanged(reply.content)
        assert reply.headers["content-type"] == "image/png" and out.shape == rgba.shape, size
        assert (out[..., 3] == rgba[..., 3]).all(), size  # the clear third stays clear, the band half clear


def encoded_with(image: np.ndarray, ext: str, params: list[int]) -> bytes:
    ok, data = cv2.imencode(ext, image, params)
    assert ok
    return data.tobytes()


def test_a_transparent_photos_soft_edges_keep_their_own_colour(client):
    """Where it is not painted, a half-clear pixel keeps its colour (pure blue), not the lighter blue
    it is laid on white as for the networks (as ``deepphoto edit`` writes it)."""
    headers = hello(client)
    rgba = transparent(scenery())
    item = client.post("/api/uploads/photo", content=encoded(rgba), headers=headers).json()
    body = {"photo": item["id"], "style": "wave", "region": "person", "size": "full"}  # nobody: nothing painted
    out = unchanged(client.post("/api/render", json=body, headers=headers).content)
    w = rgba.shape[1]
    band = out[:, w // 3 : w // 3 + 20].reshape(-1, 4).astype(int)
    assert np.abs(band - (255, 0, 0, 128)).max() <= 2  # on white it would be (255, 127, 127)


def test_a_transparent_photos_best_quality_keeps_its_transparency(client, monkeypatch):
    fake_optimiser(monkeypatch)
    headers = hello(client)
    rgba = transparent(portrait())
    item = client.post("/api/uploads/photo", content=encoded(rgba), headers=headers).json()
    state = finished(client, headers, {"photo": item["id"], "style": "wave", "size": 64})
    assert state["state"] == "done", state
    reply = client.get(f"/api/jobs/{state['id']}/result", headers=headers)
    out = unchanged(reply.content)
    assert reply.headers["content-type"] == "image/png" and out.shape == rgba.shape
    assert (out[..., 3] == rgba[..., 3]).all()


# ------------------------------------------------------------------ 2. no person: said so


def test_a_photo_without_a_person_says_so(client, monkeypatch):
    headers = hello(client)
    item = client.post("/api/uploads/photo", content=encoded(scenery(), ".jpg"), headers=headers).json()
    body = {"photo": item["id"], "style": "scream", "region": "person"}
    for size in ("preview", "full"):
        reply = client.post("/api/render", json={**body, "size": size}, headers=headers)
        assert reply.status_code == 200, reply.text
        assert reply.headers.get("x-deepphoto-note") == "no person found; the photo is left as it was", size
    reply = client.post("/api/render", json={**body, "region": "background"}, headers=headers)
    assert "no person found; the photo is painted whole" in reply.headers.get("x-deepphoto-note", "")
    # a photo of a person has nothing to be told; nor has the mask view
    person = client.post("/api/uploads/photo", content=encoded(portrait()), headers=headers).json()
    reply = client.post("/api/render", json={**body, "photo": person["id"]}, headers=headers)
    assert reply.status_code == 200 and "x-deepphoto-note" not in reply.headers
    reply = client.post("/api/render", json={**body, "view": "mask"}, headers=headers)
    assert reply.status_code == 200 and "x-deepphoto-note" not in reply.headers
    # best quality says it too, in its job's message
    fake_optimiser(monkeypatch)
    state = finished(client, headers, {**body, "size": 64})
    assert state["state"] == "done" and "no person found" in state["message"], state


# ------------------------------------------------------------------ 3. the printed address


def test_serve_on_every_address_prints_one_for_other_computers(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "deepphoto", "serve", "--host", "0.0.0.0", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout.readline() for _ in range(2)), daemon=True)
    reader.start()
    reader.join(90)  # the address lines come before the server serves; a missing one must not hang the test
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    first, second = (lines + ["", ""])[:2]
    assert first.startswith("DeepPhoto Studio: http://127.0.0.1:") and "?token=" in first, first
    assert "from another computer: http://" in second and "127.0.0.1:" not in second.split()[3], second
    assert "?token=" in second and "https://" in second


# ------------------------------------------------------------------ 4. a painting too thin for the optimiser


def test_best_quality_refuses_a_painting_too_thin_at_once(client):
    """Refused at its upload (hunt 28: as `edit --style-image` and add-style refuse it), not only
    when best quality is asked for."""
    headers = hello(client)
    thin = np.full((48, 1650, 3), 120, np.uint8)
    thin[:, ::2] = 30  # strokes: not one flat colour
    painting = client.post("/api/uploads/painting", content=encoded(thin), headers=headers)
    message = one_line_error(painting, 422)
    assert message == "the painting: a painting of 1650x48 pixels is too long and thin (at most 32:1); crop it"


def test_the_optimiser_refuses_a_painting_too_thin_in_one_line():
    pytest.importorskip("torch", reason="the photo optimiser needs torch")
    from deepphoto import optimizer

    try:
        vgg = optimizer._loss_network()
    except DeepPhotoError as exc:
        pytest.skip(f"VGG19 not here: {exc}")
    with pytest.raises(DeepPhotoError, match=r"^painting 1650x48 is too long and thin .*at most 32:1"):
        optimizer.painting_grams(vgg, np.full((48, 1650, 3), 120, np.uint8))
    with pytest.raises(DeepPhotoError, match="painting 9x300 is too long"):  # small ones are scaled up, too
        optimizer.painting_grams(vgg, np.full((300, 9, 3), 120, np.uint8))
    assert set(optimizer.painting_grams(vgg, np.full((32, 1024, 3), 120, np.uint8))) == set(optimizer.OPT_STYLE_LAYERS)


# ------------------------------------------------------------------ 5. too large: why


def test_too_large_says_by_how_much():
    limits = UploadLimits(max_pixels=24_000_000)
    with TestClient(create_app(StudioConfig(warm=False, limits=limits)), base_url=LOCAL) as c:
        h = hello(c)
        message = one_line_error(c.post("/api/uploads/photo", content=png_claiming(6001, 4000), headers=h), 413)
        assert message == (
            "photo of 6001x4000 pixels (24.004 megapixels) is too large (at most 25 MB and 24 megapixels: "
            "'deepphoto serve --max-megapixels N' takes more)"
        )
        message = one_line_error(c.post("/api/uploads/photo", content=png_claiming(65501, 100), headers=h), 413)
        assert message == "photo of 65501x100 pixels is too large (a side of at most 65500 pixels)"


# ------------------------------------------------------------------ minor: best quality


def test_best_quality_refuses_a_blend_at_once(client, monkeypatch):
    fake_optimiser(monkeypatch)
    headers = hello(client)
    item = client.post("/api/uploads/photo", content=encoded(portrait((96, 128))), headers=headers).json()
    body = {"photo": item["id"], "style": "wave:0.5,scream:0.5", "size": 64}
    message = one_line_error(client.post("/api/jobs", json=body, headers=headers), 422)
    assert "one style, not a blend" in message
    assert client.post("/api/render", json=body | {"size": "preview"}, headers=headers).status_code == 200


def test_best_quality_writes_no_console_progress_bar(client, monkeypatch):
    seen: list[dict] = []
    fake_optimiser(monkeypatch, seen)
    headers = hello(client)
    item = client.post("/api/uploads/photo", content=encoded(portrait((96, 128))), headers=headers).json()
    state = finished(client, headers, {"photo": item["id"], "style": "wave", "size": 64})
    assert state["state"] == "done", state
    assert seen and seen[-1].get("progress") is False and seen[-1].get("on_progress") is not None


# ------------------------------------------------------------------ in the browser (3 and 6)


def browser_ready() -> str:
    """'' when the browser tests can run, else why not (as tests/test_web_browser.py skips)."""
    if not CHROMIUM.exists():
        return f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs playwright for Python (the dev extra)"
    return ""


needs_browser = pytest.mark.skipif(bool(browser_ready()), reason=browser_ready() or "ready")


@contextmanager
def open_page(config: StudioConfig, address: str, args: tuple[str, ...] = ()) -> Iterator[tuple[Any, list[str]]]:
    """(page, page errors) of the studio served with ``config``, opened at ``address`` (a format
    string with {port} and {token}) by a chromium launched with ``args``."""
    from playwright.sync_api import sync_playwright

    from deepphoto.web.server import BackgroundServer

    with BackgroundServer(config) as server, sync_playwright() as p:
        port = server.sock.getsockname()[1]
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--no-first-run", *args]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
            page = context.new_page()
            page.set_default_timeout(180_000)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(address.format(port=port, token=config.token or ""))
            page.wait_for_selector("body[data-ready=true]")
            yield page, errors
        finally:
            browser.close()


@needs_browser
def test_the_camera_over_plain_http_from_another_computer_says_why_in_one_line():
    """Opened by a name other than localhost over http:// (as from another computer), the browser
    gives the page no camera: Live says why at once, and "Take one" says it in one line."""
    config = StudioConfig(host="0.0.0.0", token="hunt24", warm=False)
    rules = "--host-resolver-rules=MAP studio.test 127.0.0.1"
    with open_page(config, "http://studio.test:{port}/?token={token}", (rules,)) as (page, errors):
        assert page.evaluate("window.isSecureContext") is False
        assert page.is_disabled("#live-start")
        status = page.inner_text("#live-status")
        assert "https://" in status and "localhost" in status, status
        page.click("#snap-open")
        page.wait_for_selector("#error:not([hidden])")
        text = page.inner_text("#error-text")
        assert text.startswith("The camera could not be opened: the browser gives the camera only to pages opened")
        assert "Cannot read properties" not in text and "\n" not in text, text
        assert not errors, errors


@needs_browser
def test_the_painting_name_goes_when_another_look_replaces_it(tmp_path):
    painting = tmp_path / "shipwreck.png"
    cv2.imwrite(str(painting), cv2.applyColorMap(np.tile(np.arange(256, dtype=np.uint8), (64, 1)), 2))
    with open_page(StudioConfig(warm=False), "http://127.0.0.1:{port}/") as (page, errors):
        for replace in ('#gallery button[data-style="scream"]', "#effect"):
            page.set_input_files("#painting-file", str(painting))
            page.wait_for_function("document.getElementById('painting-name').textContent.includes('shipwreck')")
            assert page.evaluate("studio.look.painting") is not None
            if replace == "#effect":
                page.select_option("#effect", "pencil")
            else:
                page.click(replace)
            assert page.evaluate("studio.look.painting") is None
            assert page.inner_text("#painting-name") == "", replace
        assert not errors, errors
