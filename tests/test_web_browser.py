"""DeepPhoto Studio in a real browser: Debian's chromium driven by Playwright (the system browser,
nothing downloaded), the studio served by uvicorn on a free 127.0.0.1 port, a fake camera playing a
clip. Checked by pixels: the photo is painted and downloads at full size; the live view shows painted
frames and a style switch changes them; errors show on the page; the Camera tab steers a run.

``DEEPPHOTO_STUDIO_SHOTS=docs/studio`` saves a screenshot of each tab there (the README's).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

CHROMIUM = Path(os.environ.get("DEEPPHOTO_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="needs playwright for Python (the dev extra)")
pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("aiortc", reason="needs the web extra: pip install -e '.[web]'")

import av  # noqa: E402
from conftest import SHARED  # noqa: E402
from media import write_y4m  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from studio_page import studio_page  # noqa: E402

from deepphoto.web.app import StudioConfig  # noqa: E402
from deepphoto.web.server import BackgroundServer  # noqa: E402

SHOTS = Path(os.environ["DEEPPHOTO_STUDIO_SHOTS"]) if os.environ.get("DEEPPHOTO_STUDIO_SHOTS") else None
CAMERA_SIZE = (640, 480) if SHOTS else (320, 240)  # smaller in tests: two shared cores
WAIT = 180_000  # ms: this machine is shared and slow


def camera_frames(size: tuple[int, int]) -> list[np.ndarray]:
    """A person gesturing in front of a wall (a shared clip), else a drawn figure moving."""
    clips = sorted((SHARED / "video" / "asl_gestures").glob("*")) if (SHARED / "video").is_dir() else []
    frames = []
    if clips:
        with av.open(str(clips[0])) as c:
            for f in c.decode(video=0):
                frames.append(cv2.resize(f.to_ndarray(format="bgr24"), size, interpolation=cv2.INTER_AREA))
                if len(frames) == 60:
                    break
        return frames
    w, h = size
    for i in range(60):
        img = np.random.default_rng(i).integers(90, 140, (h, w, 3), dtype=np.uint8)
        img[:, : w // 3] = (170, 120, 60)
        x = w // 3 + (i % 20) * 3
        cv2.circle(img, (x + w // 8, h // 3), h // 8, (140, 170, 220), -1)
        cv2.rectangle(img, (x, h // 2), (x + w // 4, h), (60, 40, 120), -1)
        frames.append(img)
    return frames


def portrait_jpeg(size: tuple[int, int] = (960, 720)) -> tuple[bytes, np.ndarray]:
    folder = SHARED / "seg" / "portraits" / "images"
    files = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if files:
        # a landscape portrait reads best in the screenshot
        pick = next(
            (f for f in files if (im := cv2.imread(str(f))) is not None and im.shape[1] > im.shape[0]), files[0]
        )
        image = cv2.resize(cv2.imread(str(pick)), size, interpolation=cv2.INTER_AREA)
    else:
        w, h = size
        image = np.random.default_rng(3).integers(80, 200, (h, w, 3), dtype=np.uint8)
        cv2.circle(image, (w // 2, h // 3), w // 9, (140, 170, 220), -1)
        cv2.ellipse(image, (w // 2, h), (w // 5, h // 2), 0, 0, 360, (60, 40, 120), -1)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return data.tobytes(), cv2.imdecode(data, cv2.IMREAD_COLOR)


@pytest.fixture(scope="module")
def studio():
    with BackgroundServer(StudioConfig()) as server:
        yield server


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    clip = write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m", camera_frames(CAMERA_SIZE))
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser, studio):
    with studio_page(browser, studio.url, wait=WAIT, accept_downloads=True) as page:  # no script error on it
        yield page


def shot(page, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name))


def error_text(page) -> str:
    page.wait_for_selector("#error:not([hidden])")
    return page.inner_text("#error-text")


# ------------------------------------------------------------------ photo


def test_upload_style_download_gives_a_painted_full_size_image(page, tmp_path):
    data, original = portrait_jpeg()
    page.set_input_files("#photo-file", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": data}])
    page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview')")
    page.click('#gallery button[data-style="scream"]')
    page.wait_for_function("document.getElementById('photo-status').textContent.includes('The Scream')")
    page.wait_for_function(
        "document.getElementById('after').complete && document.getElementById('after').naturalWidth > 0"
    )
    assert page.get_attribute('#gallery button[data-style="scream"]', "aria-checked") == "true"

    # the before/after slider moves the cut
    page.eval_on_selector("#split", "el => { el.value = 35; el.dispatchEvent(new Event('input')); }")
    assert "35%" in page.eval_on_selector("#after", "el => el.style.clipPath")
    page.eval_on_selector("#split", "el => { el.value = 50; el.dispatchEvent(new Event('input')); }")
    shot(page, "photo.png")

    with page.expect_download() as download:
        page.click("#download")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    assert target.name == "me-scream.jpg"  # named after the photo
    result = cv2.imread(str(target))
    assert result.shape == original.shape  # full size, not the preview
    assert np.abs(result.astype(int) - original).mean() > 8  # painted

    # the mask view
    page.click("#show-mask")
    page.wait_for_function("document.getElementById('photo-status').textContent.includes('Person mask')")
    assert page.get_attribute("#show-mask", "aria-pressed") == "true"


def test_errors_show_on_the_page(page):
    page.set_input_files("#photo-file", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"no image"}])
    assert "not an image" in error_text(page)
    page.click("#error-close")
    assert page.is_hidden("#error")
    bomb = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00" + b"\0" * 64
    page.set_input_files("#photo-file", files=[{"name": "big.png", "mimeType": "image/png", "buffer": bomb}])
    assert "too large" in error_text(page)


def test_drop_paste_and_take_a_photo(page):
    import base64

    data, original = portrait_jpeg((320, 240))
    make = f"""() => {{
        const bytes = Uint8Array.from(atob("{base64.b64encode(data).decode()}"), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "dropped.jpg", {{type: "image/jpeg"}}));
        return dt;
    }}"""
    page.dispatch_event("#drop", "drop", {"dataTransfer": page.evaluate_handle(make)})
    page.wait_for_function("(window.studio.photo || {}).width === 320")
    first = page.evaluate("window.studio.photo.id")
    page.evaluate(f"document.dispatchEvent(new ClipboardEvent('paste', {{clipboardData: ({make})()}}))")
    page.wait_for_function(f"window.studio.photo && window.studio.photo.id !== '{first}'")
    pasted = page.evaluate("window.studio.photo.id")
    # take one with the (fake) camera: a new photo (the camera's size may equal the pasted one's)
    page.click("#snap-open")
    page.wait_for_function("document.getElementById('snap-video').videoWidth > 0")
    page.click("#snap-take")
    w, h = CAMERA_SIZE
    page.wait_for_function(f"window.studio.photo && window.studio.photo.id !== '{pasted}'")
    page.wait_for_function(f"window.studio.photo.width === {w} && window.studio.photo.height === {h}")
    page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview')")
    page.wait_for_function("!document.getElementById('snap').open")  # the camera dialog closed


def test_best_quality_paints_with_progress_and_downloads(page, tmp_path):
    """The optimiser from the page: progress shows while it runs, the result replaces the preview
    and downloads at the photo's full size, painted; a second job can be cancelled."""
    pytest.importorskip("torch", reason="best quality needs PyTorch on the server")
    data, original = portrait_jpeg((320, 240))
    page.set_input_files("#photo-file", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": data}])
    page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview')")
    page.click('#gallery button[data-style="wave"]')
    page.wait_for_function("!document.getElementById('best-start').disabled")
    page.select_option("#best-size", "256")
    preview = page.get_attribute("#after", "src")
    page.click("#best-start")
    page.wait_for_function("/running|queued/.test(document.getElementById('best-text').textContent)")
    assert page.is_visible("#best-cancel") and page.is_visible("#best-progress")
    page.wait_for_function("document.getElementById('best-text').textContent.includes('Best quality done')")
    assert page.get_attribute("#after", "src") != preview
    assert page.is_hidden("#best-cancel")
    with page.expect_download() as download:
        page.click("#best-text a")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    assert target.name.startswith("me-best.")
    result = cv2.imread(str(target))
    assert result.shape == original.shape  # the optimised 256 px picture, brought to full size
    assert np.abs(result.astype(int) - original).mean() > 8  # painted

    page.click("#best-start")
    page.wait_for_function("/running|queued/.test(document.getElementById('best-text').textContent)")
    page.click("#best-cancel")
    page.wait_for_function("/cancel/i.test(document.getElementById('best-text').textContent)")
    assert not page.is_disabled("#best-start")


# ------------------------------------------------------------------ live

PIXELS = """() => {
  const out = document.getElementById("live-out"), local = document.getElementById("live-local");
  const w = out.width, h = out.height, c = document.createElement("canvas");
  c.width = w; c.height = h;
  const ctx = c.getContext("2d");
  ctx.drawImage(local, 0, 0, w, h);
  const raw = ctx.getImageData(0, 0, w, h).data, shown = out.getContext("2d").getImageData(0, 0, w, h).data;
  let diff = 0;
  for (let i = 0; i < raw.length; i += 4)
    diff += Math.abs(raw[i] - shown[i]) + Math.abs(raw[i + 1] - shown[i + 1]) + Math.abs(raw[i + 2] - shown[i + 2]);
  const t = document.createElement("canvas");
  t.width = 32; t.height = 24;
  t.getContext("2d").drawImage(out, 0, 0, 32, 24);
  const small = Array.from(t.getContext("2d").getImageData(0, 0, 32, 24).data);
  const r = document.createElement("canvas");
  r.width = 32; r.height = 24;
  r.getContext("2d").drawImage(local, 0, 0, 32, 24);
  return {diff: diff / (w * h * 3), shown: small, raw: Array.from(r.getContext("2d").getImageData(0, 0, 32, 24).data)};
}"""


def frames_after(page, n: int) -> None:
    start = page.evaluate("window.studio.liveStats.frames")
    page.wait_for_function(f"window.studio.liveStats.frames >= {start + n}")


def sessions(studio) -> int:
    return len(studio.app.state.studio.live.sessions)


def wait_until(check, seconds: float = 30.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_live_view_shows_painted_frames_and_a_style_switch_changes_them(page, studio):
    page.click("#tab-live")
    page.select_option("#live-look", "style:wave")
    page.check('input[name="live-region"][value="whole"]', force=True)
    page.uncheck("#live-mirror")
    page.click("#live-start")
    page.wait_for_function("window.studio.liveStats.frames > 5")
    page.wait_for_function("(window.studio.liveStats.look || '').startsWith('wave')")
    frames_after(page, 5)
    a = page.evaluate(PIXELS)
    time.sleep(0.5)
    frames_after(page, 3)
    b = page.evaluate(PIXELS)
    raw_motion = np.abs(np.array(a["raw"], float) - b["raw"]).reshape(-1, 4)[:, :3].mean()
    assert a["diff"] > max(20.0, 3 * raw_motion), (a["diff"], raw_motion)  # painted, not the raw camera
    same_style = np.abs(np.array(a["shown"], float) - b["shown"]).reshape(-1, 4)[:, :3].mean()

    page.select_option("#live-look", "style:scream")
    page.wait_for_function("(window.studio.liveStats.look || '').startsWith('scream')")
    frames_after(page, 5)
    c = page.evaluate(PIXELS)
    switched = np.abs(np.array(a["shown"], float) - c["shown"]).reshape(-1, 4)[:, :3].mean()
    assert switched > 2 * same_style + 8, (switched, same_style)

    page.wait_for_function("window.studio.liveStats.latency !== null")
    stats = page.evaluate("window.studio.liveStats")
    assert 0 < stats["latency"] < 10_000 and stats["fps"] > 0  # glass to glass, read from the frames
    assert page.inner_text("#live-latency").endswith("ms")
    page.check('input[name="live-region"][value="background"]', force=True)
    page.check("#live-mirror")
    page.wait_for_function("(window.studio.liveStats.look || '').endsWith('background')")
    frames_after(page, 5)
    time.sleep(1.0)
    shot(page, "live.png")

    page.click("#live-stop")
    assert wait_until(lambda: sessions(studio) == 0), "the live session was not closed by Stop"


def test_live_session_closes_when_its_page_goes_away(page, studio):
    page.click("#tab-live")
    page.click("#live-start")
    page.wait_for_function("window.studio.liveStats.frames > 2")
    assert sessions(studio) == 1
    page.close()
    assert wait_until(lambda: sessions(studio) == 0), "the live session outlived its page"


def test_live_bad_setting_shows_on_the_page(page):
    page.click("#tab-live")
    page.click("#live-start")
    page.wait_for_function("window.studio.liveStats.frames > 2")
    page.evaluate(
        "window.studio.live.channel.send(JSON.stringify({type: 'settings', threshold: 5}))"
    )  # what a broken page could send
    assert "threshold" in error_text(page)
    page.click("#live-stop")


# ------------------------------------------------------------------ camera


def test_camera_tab_starts_and_steers_a_run(page, studio):
    page.click("#tab-camera")
    page.wait_for_selector('#camera-source option[value="synthetic://"]', state="attached")
    page.select_option("#camera-source", "synthetic://")
    page.select_option("#camera-output", "null://")
    page.select_option("#camera-look", "style:starry-night")
    page.click("#camera-start")
    page.wait_for_function("document.getElementById('camera-status').textContent.includes('fps')")
    page.wait_for_function("document.getElementById('camera-preview').naturalWidth > 0")
    assert "starry-night" in page.inner_text("#camera-status")
    page.select_option("#camera-look", "style:udnie")
    page.wait_for_function("document.getElementById('camera-status').textContent.includes('udnie')")
    time.sleep(2.0)
    shot(page, "camera.png")
    page.click("#camera-stop")
    page.wait_for_function("/was stopped|ended/.test(document.getElementById('camera-status').textContent)")
    assert studio.app.state.studio.camera.process.poll() is not None


@pytest.fixture(scope="module", autouse=True)
def _no_leftovers(studio):
    yield
    desk = studio.app.state.studio.camera
    if desk.process is not None and desk.process.poll() is None:
        desk.stop()
    if SHOTS is not None and not any(SHOTS.glob("*.png")):
        shutil.rmtree(SHOTS, ignore_errors=True)
