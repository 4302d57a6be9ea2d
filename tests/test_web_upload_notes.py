"""An upload the Studio reads only part of says so, as ``deepphoto edit`` warns: an animated WebP
or AVIF (its first frame is used), a JPEG cut off (what it holds is used, the rest grey). The
notes come with the upload's reply and show beside the photo in the page."""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("httpx2", reason="FastAPI's test client needs httpx2 (the dev extra)")

from conftest import encoded, portrait  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402
from test_web_api import LOCAL, hello  # noqa: E402

from deepphoto.web.app import StudioConfig, create_app  # noqa: E402


def animated_webp(frames: int = 3) -> bytes:
    image = portrait()
    pictures = [Image.fromarray(cv2.cvtColor(np.roll(image, 8 * i, axis=1), cv2.COLOR_BGR2RGB)) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "WEBP", save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return out.getvalue()


def cut_jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", portrait(), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()[: len(data) * 2 // 3]


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(StudioConfig(warm=False, max_jobs=1)), base_url=LOCAL) as c:
        yield c


def upload(client, data: bytes, kind: str = "photo") -> dict:
    reply = client.post(f"/api/uploads/{kind}", content=data, headers=hello(client))
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_whole_still_photo_has_no_notes(client):
    assert upload(client, encoded(portrait()))["notes"] == []


def test_an_animated_webp_says_its_first_frame_is_used(client):
    data = animated_webp()
    if not hasattr(cv2, "imdecodeanimation"):
        pytest.skip("this OpenCV cannot tell an animation's frames")
    assert upload(client, data)["notes"] == ["an animation: its first frame is used"]
    assert upload(client, data, "painting")["notes"] == ["an animation: its first frame is used"]


def test_a_jpeg_cut_off_says_so(client):
    item = upload(client, cut_jpeg())
    assert item["notes"] == ["the file ends early (cut off): what it holds is used, the rest grey"]
    assert (item["width"], item["height"]) == portrait().shape[1::-1]


CHROMIUM = Path(os.environ.get("DEEPPHOTO_CHROMIUM", "/usr/bin/chromium"))


def test_the_page_shows_the_note_beside_the_photo():
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright for Python (the dev extra)")
    from deepphoto.web.server import BackgroundServer

    with BackgroundServer(StudioConfig()) as server, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context(bypass_csp=True).new_page()
            page.set_default_timeout(180_000)
            page.goto(server.url)
            page.wait_for_selector("body[data-ready=true]")
            page.set_input_files(
                "#photo-file", files=[{"name": "cut.jpg", "mimeType": "image/jpeg", "buffer": cut_jpeg()}]
            )
            page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview')")
            status = page.inner_text("#photo-status")
            assert "Note: the file ends early (cut off)" in status, status
        finally:
            browser.close()
