"""DeepPhoto Studio's HTTP API through FastAPI's test client: photos through the real pipeline,
uploads checked by content and capped before decoding, one-line JSON errors, bounded work, pages
that go away taking their uploads and jobs with them, and the access token."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("httpx2", reason="FastAPI's test client needs httpx2 (the dev extra)")

from conftest import decoded, encoded, portrait  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from deepphoto.web import jobs  # noqa: E402
from deepphoto.web.app import StudioConfig, create_app  # noqa: E402
from deepphoto.web.limits import UploadLimits, image_header  # noqa: E402

LOCAL = "http://127.0.0.1"


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression bomb's calling card)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64


def hello(client: TestClient) -> dict[str, str]:
    reply = client.post("/api/hello", headers={"X-DeepPhoto-Client": "new"})
    assert reply.status_code == 200, reply.text
    return {"X-DeepPhoto-Client": reply.json()["client"]}


def one_line_error(reply, status: int) -> str:
    assert reply.status_code == status, reply.text
    message = reply.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture(scope="module")
def client():
    config = StudioConfig(warm=False, best_iterations=(3, 2), max_jobs=1)
    with TestClient(create_app(config), base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="module")
def photo(client):
    """A 480x640 PNG portrait uploaded by one page: (headers, upload reply, the image)."""
    headers = hello(client)
    image = portrait()
    reply = client.post("/api/uploads/photo", content=encoded(image), headers=headers)
    assert reply.status_code == 200, reply.text
    return headers, reply.json(), image


# ------------------------------------------------------------------ photos through the pipeline


def test_hello_lists_the_styles_and_what_is_available(client):
    info = client.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}).json()
    assert {"starry-night", "wave"} <= {s["name"] for s in info["styles"]}
    assert all(s["title"] for s in info["styles"])
    titles = {s["name"]: s["title"] for s in info["styles"]}
    assert titles["woman-with-hat"].startswith("Woman with a Hat")  # every shipped painting titled, not named
    assert "replace" in info["effects"] and "blur" in info["effects"]
    assert info["limits"]["bytes"] == UploadLimits().max_bytes


def test_preview_is_painted_where_asked_and_nowhere_else(client, photo):
    headers, item, image = photo
    assert (item["width"], item["height"], item["format"]) == (480, 640, "PNG")
    mask_reply = client.post("/api/render", json={"photo": item["id"], "view": "mask"}, headers=headers)
    assert mask_reply.status_code == 200 and mask_reply.headers["x-image-size"] == "480x640"
    mask = decoded(mask_reply.content)[..., 0].astype(int)
    assert (mask > 200).mean() > 0.05 and (mask < 50).mean() > 0.05  # some person, some background

    # full size of a PNG comes back as a lossless PNG: compare exactly where the mask is certain
    body = {"photo": item["id"], "style": "wave", "region": "person", "size": "full"}
    reply = client.post("/api/render", json=body, headers=headers)
    assert reply.status_code == 200 and reply.headers["content-type"] == "image/png"
    out = decoded(reply.content).astype(int)
    assert out.shape == image.shape
    diff = np.abs(out - image).mean(axis=2)
    assert diff[mask < 5].mean() < 1.0  # background untouched
    assert diff[mask > 250].mean() > 10.0  # the person painted


def test_strength_blends_with_the_original(client, photo):
    headers, item, image = photo
    body = {"photo": item["id"], "style": "scream", "region": "whole", "size": "full"}
    full = decoded(client.post("/api/render", json=body, headers=headers).content).astype(int)
    half = decoded(client.post("/api/render", json={**body, "strength": 0.5}, headers=headers).content).astype(int)
    none = decoded(client.post("/api/render", json={**body, "strength": 0}, headers=headers).content).astype(int)
    assert np.abs(none - image).max() == 0
    assert np.abs(half - (full + image) / 2).mean() < 1.0


def test_preview_is_a_small_copy_and_the_download_full_size(client):
    headers = hello(client)
    big = cv2.resize(portrait(), (1200, 1600), interpolation=cv2.INTER_LINEAR)
    item = client.post("/api/uploads/photo", content=encoded(big, ".jpg"), headers=headers).json()
    assert (item["width"], item["height"], item["format"]) == (1200, 1600, "JPEG")
    preview = client.post("/api/render", json={"photo": item["id"], "effect": "blur"}, headers=headers)
    assert preview.headers["x-image-size"] == "600x800"
    full = client.post("/api/render", json={"photo": item["id"], "effect": "blur", "size": "full"}, headers=headers)
    assert full.headers["content-type"] == "image/jpeg"
    assert decoded(full.content).shape == (1600, 1200, 3)


def test_replace_background_with_an_uploaded_picture(client, photo):
    headers, item, image = photo
    backdrop = np.zeros((300, 400, 3), np.uint8)
    backdrop[:] = (20, 200, 40)  # plain green
    bg = client.post("/api/uploads/background", content=encoded(backdrop, ".jpg"), headers=headers).json()
    body = {"photo": item["id"], "effect": "replace", "background": bg["id"], "region": "background", "size": "full"}
    out = decoded(client.post("/api/render", json=body, headers=headers).content).astype(int)
    mask = decoded(client.post("/api/render", json={"photo": item["id"], "view": "mask"}, headers=headers).content)
    behind = out[mask[..., 0] < 5]
    assert np.abs(behind - (20, 200, 40)).mean() < 6
    missing = client.post("/api/render", json={"photo": item["id"], "effect": "replace"}, headers=headers)
    assert "background" in one_line_error(missing, 422)


def test_any_painting_or_a_clear_message(client, photo):
    headers, item, image = photo
    painting = cv2.applyColorMap(np.tile(np.arange(256, dtype=np.uint8), (256, 1)), cv2.COLORMAP_JET)
    up = client.post("/api/uploads/painting", content=encoded(painting, ".jpg"), headers=headers).json()
    body = {"photo": item["id"], "painting": up["id"], "region": "whole"}
    reply = client.post("/api/render", json=body, headers=headers)
    if reply.status_code == 503:  # the any-painting networks are not fetched here
        assert "any painting" in one_line_error(reply, 503)
        return
    assert reply.status_code == 200, reply.text
    out = decoded(reply.content).astype(int)
    assert out.shape == image.shape and np.abs(out - image).mean() > 10


def test_any_painting_absent_is_a_503_with_the_reason(client, photo, monkeypatch):
    import sys

    headers, item, _ = photo
    up = client.post("/api/uploads/painting", content=encoded(portrait((64, 64)), ".png"), headers=headers).json()
    studio = client.app.state.studio
    monkeypatch.setattr(studio.photos, "_arbitrary", None)
    monkeypatch.setitem(sys.modules, "deepphoto.arbitrary", None)  # import fails as if not installed
    reply = client.post("/api/render", json={"photo": item["id"], "painting": up["id"]}, headers=headers)
    assert "not part of this DeepPhoto installation" in one_line_error(reply, 503)


def test_a_tiny_painting_and_an_id_of_another_kind_are_named_at_once(client, photo):
    headers, item, _ = photo
    tiny = client.post("/api/uploads/painting", content=encoded(portrait((1, 1)), ".png"), headers=headers)
    assert "the painting: a painting of 1x1 pixels; both sides must be at least 16 pixels" in one_line_error(tiny, 422)
    reply = client.post(
        "/api/render", json={"photo": item["id"], "effect": "replace", "background": item["id"]}, headers=headers
    )
    assert "that id is of an uploaded photo, not a background" in one_line_error(reply, 422)


def test_bad_look_values_are_one_line_422(client, photo):
    headers, item, _ = photo
    cases = [
        ({"style": "no-such"}, "unknown style"),
        ({"style": "wave", "strength": 3}, "strength"),
        ({"style": "wave", "region": "sky"}, "region"),
        ({"style": "wave", "threshold": "nan"}, "threshold"),
        ({"style": "wave", "bogus": 1}, "unknown field"),
        ({"style": "wave", "effect": "blur"}, "not both"),
        ({"painting": "../../etc/passwd"}, "expected the id"),
        ({"style": "wave", "refine": "maybe"}, "refine 'maybe': must be true or false"),
    ]
    for values, words in cases:
        reply = client.post("/api/render", json={"photo": item["id"], **values}, headers=headers)
        assert words in one_line_error(reply, 422), values
    assert "not JSON" in one_line_error(client.post("/api/render", content=b"{", headers=headers), 422)
    other = hello(client)  # another page cannot use this page's photo
    one_line_error(client.post("/api/render", json={"photo": item["id"]}, headers=other), 404)


# ------------------------------------------------------------------ uploads: caps and content


def test_header_sizes_are_read_without_decoding():
    image = np.zeros((37, 53, 3), np.uint8)
    for ext, kind in ((".jpg", "JPEG"), (".png", "PNG"), (".webp", "WebP"), (".bmp", "BMP")):
        assert image_header(encoded(image, ext)) == (kind, 53, 37), ext
    lossless = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()
    assert image_header(lossless) == ("WebP", 53, 37)
    assert image_header(png_claiming(100_000, 90_000)) == ("PNG", 100_000, 90_000)


def test_uploads_checked_by_content_and_capped():
    limits = UploadLimits(max_bytes=200_000, max_pixels=1_000_000)
    with TestClient(create_app(StudioConfig(warm=False, limits=limits)), base_url=LOCAL) as c:
        h = hello(c)
        text = b"GIF89a not really" + b"x" * 100
        assert "not an image" in one_line_error(c.post("/api/uploads/photo", content=text, headers=h), 415)
        t = time.perf_counter()
        bomb = c.post("/api/uploads/photo", content=png_claiming(50_000, 50_000), headers=h)
        assert "megapixels" in one_line_error(bomb, 413)
        assert time.perf_counter() - t < 2.0  # refused from the header: nothing was decoded
        noise = np.random.default_rng(1).integers(0, 255, (400, 400, 3), dtype=np.uint8)
        assert "too large" in one_line_error(c.post("/api/uploads/photo", content=encoded(noise), headers=h), 413)
        damaged = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 40
        one_line_error(c.post("/api/uploads/photo", content=damaged, headers=h), 422)
        truncated = encoded(portrait((64, 64)), ".png")[:60]
        one_line_error(c.post("/api/uploads/photo", content=truncated, headers=h), 422)
        one_line_error(c.post("/api/uploads/photo", content=b"", headers=h), 422)
        one_line_error(c.post("/api/uploads/script", content=encoded(portrait((64, 64))), headers=h), 422)


# ------------------------------------------------------------------ safety


def test_every_call_needs_a_known_page_and_a_local_host_name():
    with TestClient(create_app(StudioConfig(warm=False)), base_url=LOCAL) as c:
        assert "reload" in one_line_error(c.post("/api/ping"), 410)
        assert "reload" in one_line_error(c.post("/api/ping", headers={"X-DeepPhoto-Client": "f" * 24}), 410)
        one_line_error(c.post("/api/hello"), 403)  # a form posted by another site cannot send the header
        h = hello(c)
        assert c.post("/api/ping", headers=h).json() == {"ok": True}
        rebinding = c.post("/api/ping", headers={**h, "Host": "attacker.example"})
        assert "refused" in one_line_error(rebinding, 403)
        assert c.get("/").status_code == 200 and "DeepPhoto Studio" in c.get("/").text
        assert "default-src 'self'" in c.get("/").headers["content-security-policy"]


def test_access_token_when_listening_beyond_this_machine():
    config = StudioConfig(warm=False, host="0.0.0.0", token="s3cret-token")
    with TestClient(create_app(config), base_url="http://192.168.1.20:8000") as c:
        assert "token" in one_line_error(c.get("/"), 401)
        assert "token" in one_line_error(c.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}), 401)
        one_line_error(c.get("/?token=wrong"), 401)
        page = c.get("/?token=s3cret-token")
        assert page.status_code == 200 and "deepphoto_token" in page.headers["set-cookie"]
        assert c.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}).status_code == 200  # the cookie


def test_too_many_requests_is_429():
    with TestClient(create_app(StudioConfig(warm=False, rate=0.5, burst=3)), base_url=LOCAL) as c:
        h = hello(c)
        statuses = [c.post("/api/ping", headers=h).status_code for _ in range(4)]
        assert statuses[:2] == [200, 200] and statuses[-1] == 429
        assert "too many requests" in one_line_error(c.post("/api/ping", headers=h), 429)


def test_live_sessions_are_bounded():
    with TestClient(create_app(StudioConfig(warm=False, max_live=0)), base_url=LOCAL) as c:
        h = hello(c)
        reply = c.post("/api/live/offer", json={"sdp": "v=0", "type": "offer"}, headers=h)
        assert "live sessions" in one_line_error(reply, 429)
        bad = c.post("/api/live/offer", json={"sdp": "v=0", "type": "offer", "settings": {"region": "sky"}}, headers=h)
        one_line_error(bad, 422)


def test_a_page_that_goes_away_takes_its_uploads_along(tmp_path):
    with TestClient(create_app(StudioConfig(warm=False, client_timeout=0.6)), base_url=LOCAL) as c:
        studio = c.app.state.studio
        folder = studio.folder
        h = hello(c)
        bg = c.post("/api/uploads/background", content=encoded(portrait((64, 48))), headers=h).json()
        kept = list(folder.glob("*.png"))
        assert len(kept) == 1 and bg["id"] in kept[0].name  # a name the server made
        c.post(f"/api/bye?client={h['X-DeepPhoto-Client']}")
        assert not list(folder.glob("*.png")) and not studio.uploads.items
        one_line_error(c.post("/api/ping", headers=h), 410)
        # a page that stops sending heartbeats is forgotten too
        h2 = hello(c)
        c.post("/api/uploads/background", content=encoded(portrait((64, 48))), headers=h2)
        deadline = time.monotonic() + 10
        while studio.uploads.items and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not studio.uploads.items and not list(folder.glob("*.png"))
    assert not Path(folder).exists()  # the temporary folder goes with the app


# ------------------------------------------------------------------ best quality (the optimiser)


def test_best_quality_without_torch_is_refused(client, photo, monkeypatch):
    headers, item, _ = photo
    monkeypatch.setattr(jobs, "torch_available", lambda: False)
    reply = client.post("/api/jobs", json={"photo": item["id"], "style": "wave"}, headers=headers)
    assert "PyTorch" in one_line_error(reply, 503)


def test_best_quality_job_runs_with_progress_and_gives_the_full_size(client, photo):
    pytest.importorskip("torch", reason="the photo optimiser needs torch")
    headers, item, image = photo
    reply = client.post("/api/jobs", json={"photo": item["id"], "style": "wave", "size": 64}, headers=headers)
    if reply.status_code == 200 and reply.json()["state"] == "failed":
        pytest.skip(reply.json()["message"])
    job = reply.json()
    assert job["state"] in ("queued", "running") and job["total"] == 5
    busy = client.post("/api/jobs", json={"photo": item["id"], "style": "wave", "size": 64}, headers=headers)
    assert "best-quality jobs" in one_line_error(busy, 429)  # max_jobs=1
    seen = []
    deadline = time.monotonic() + 600
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
        job = client.get(f"/api/jobs/{job['id']}", headers=headers).json()
        seen.append(job["progress"])
    if job["state"] == "failed" and "assets" in job["message"]:
        pytest.skip(job["message"])  # VGG weights not fetched
    assert job["state"] == "done", job
    assert seen == sorted(seen) and seen[-1] == 1.0
    result = client.get(f"/api/jobs/{job['id']}/result", headers=headers)
    assert result.status_code == 200 and decoded(result.content).shape == image.shape


def test_best_quality_job_can_be_cancelled(photo):
    pytest.importorskip("torch", reason="the photo optimiser needs torch")
    config = StudioConfig(warm=False, best_iterations=(400, 0))
    with TestClient(create_app(config), base_url=LOCAL) as c:
        h = hello(c)
        item = c.post("/api/uploads/photo", content=encoded(portrait((96, 128))), headers=h).json()
        job = c.post("/api/jobs", json={"photo": item["id"], "style": "wave", "size": 64}, headers=h).json()
        deadline = time.monotonic() + 300
        while job["done"] == 0 and job["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
            job = c.get(f"/api/jobs/{job['id']}", headers=h).json()
        if job["state"] == "failed":
            pytest.skip(job["message"])
        c.delete(f"/api/jobs/{job['id']}", headers=h)
        while job["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            job = c.get(f"/api/jobs/{job['id']}", headers=h).json()
        assert job["state"] == "cancelled" and job["done"] < 400
        one_line_error(c.get(f"/api/jobs/{job['id']}/result", headers=h), 409)


def test_uploads_are_bounded_in_memory_least_recently_used_first(tmp_path):
    from deepphoto.web.errors import WebError
    from deepphoto.web.store import Uploads

    store = Uploads(tmp_path, limit=10, preview_side=64, memory=int(2.5 * 2**20))
    image = np.zeros((512, 682, 3), np.uint8)  # about 1 MB, plus a small preview
    a, b = store.add("page", "photo", image, "PNG"), store.add("page", "photo", image, "PNG")
    store.get("page", a.id, "photo")  # a was used last: b is the one to go
    store.add("page", "background", image, "PNG")
    store.get("page", a.id, "photo")
    with pytest.raises(WebError) as gone:
        store.get("page", b.id, "photo")
    assert gone.value.status == 404
    with pytest.raises(WebError):
        store.get("another page", a.id, "photo")
    store.close()
    assert not list(tmp_path.iterdir())
