"""The steering endpoint of ``deepphoto run ... --control [HOST:]PORT``: a tiny HTTP server on the
loopback interface, in a thread beside the run (standard library only: it works in the core install).

- ``GET /status``: the look and mask settings, frames so far, frames per second, and ``run``: this
  run's own id (a run started again at the same port has another: the Camera tab shows its settings);
- ``POST /settings`` (JSON, header ``X-DeepPhoto: 1``): live changes through ``Pipeline.update``
  (thread-safe: applied between two frames), e.g. ``{"style": "wave", "region": "person", "strength": 0.6}``;
- ``GET /preview.jpg``: the newest output frame, small.

``deepphoto serve`` steers it from its Camera tab. Only loopback addresses are accepted (the endpoint
has no access token), requests naming another host are refused (DNS rebinding), and a change must
carry the custom header, which a web page of another origin cannot send without permission.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import EFFECT_NAMES
from deepphoto.web.errors import WebError, json_value

if TYPE_CHECKING:
    from deepphoto.pipeline import Pipeline

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# what a page or script may change live (no paths)
STEERABLE = ("style", "effect", "region", "strength", "keep_exposure", "threshold", "smooth", "feather", "refine")
PREVIEW_WIDTH = 480
MAX_BODY = 65536  # a change's JSON, bytes


def parse_address(text: str, option: str = "--control") -> tuple[str, int]:
    """'[HOST:]PORT' -> (host, port); the host must be a loopback address (one-line error naming
    ``option``, the option it came from)."""
    value = str(text).strip()
    host, sep, port_text = value.rpartition(":")
    host = host.strip("[]") if sep else "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise DeepPhotoError(f"{option} {text!r}: expected [HOST:]PORT, e.g. 8765 or 127.0.0.1:8765") from None
    if not 0 <= port <= 65535:
        raise DeepPhotoError(f"{option} {text!r}: the port must be from 0 to 65535")
    if host not in LOOPBACK:
        raise DeepPhotoError(
            f"{option} {text!r}: only this machine may steer a run (127.0.0.1, localhost or ::1); "
            "for other machines use 'deepphoto serve --host'"
        )
    return ("127.0.0.1" if host == "localhost" else host), port


def settings_view(pipe: Pipeline) -> dict[str, Any]:
    """The steerable settings as applied: with no style and no effect chosen, the effect is blur
    (the default look), not null; the look and region as shown, which the window's 's' and 'r' keys
    may have moved on from the settings (the status said wave on the background beside a window
    showing starry-night on the person, and the Camera tab, showing and sending those, put it back)."""
    s, p = pipe.settings, pipe.processor
    view = {k: getattr(s, k) for k in STEERABLE}
    if s.style is None:
        view["effect"] = s.look_name
    view["region"] = p.region
    shown = p.look.name
    if shown != s.look_name:  # another of the window's looks: a style, or an effect by its name
        view["style"], view["effect"] = (None, shown) if shown in EFFECT_NAMES else (shown, None)
    return view


class ControlServer:
    """Serves ``pipe`` on ``address`` while the run lasts (``with`` it; ``observe`` goes to
    ``Pipeline.run`` to keep the preview and the frame rate)."""

    def __init__(self, address: str, pipe: Pipeline) -> None:
        host, port = parse_address(address)
        self.pipe = pipe
        self.run = uuid.uuid4().hex[:12]  # this run, told from one started again at the same port
        self.frames = 0
        self.times: deque[float] = deque(maxlen=60)
        self.latest: np.ndarray | None = None
        self._kept = 0.0
        self.lock = threading.Lock()
        try:
            server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
            self.httpd = server_class((host, port), _Handler)
        except OSError as exc:
            raise DeepPhotoError(f"--control {address}: cannot listen there ({exc.strerror or exc})") from None
        self.httpd.control = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="deepphoto-control", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"

    def __enter__(self) -> ControlServer:
        self.thread.start()
        print(f"deepphoto: control: {self.url} (GET status, POST settings, GET preview.jpg)", file=sys.stderr)
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def observe(self, image: np.ndarray, frame: object) -> None:
        """Each written frame (on the run's writer thread): counted; a small copy kept 10 times a second."""
        now = time.monotonic()
        self.frames += 1
        self.times.append(now)
        if now - self._kept >= 0.1:
            h, w = image.shape[:2]
            small = cv2.resize(
                image, (PREVIEW_WIDTH, max(1, round(h * PREVIEW_WIDTH / w))), interpolation=cv2.INTER_AREA
            )
            with self.lock:
                self.latest, self._kept = small, now

    def status(self) -> dict[str, Any]:
        t = list(self.times)
        fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0
        return {
            "look": self.pipe.describe(),
            "settings": settings_view(self.pipe),
            "frames": self.frames,
            "fps": fps,
            "run": self.run,
        }

    def change(self, values: object) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise DeepPhotoError('settings: expected a JSON object such as {"style": "wave"}')
        unknown = sorted(set(values) - set(STEERABLE))
        if unknown:
            raise DeepPhotoError(f"setting {unknown[0]!r} cannot be changed here: use {', '.join(STEERABLE)}")
        if values.get("effect") == "replace" and self.pipe.settings.background is None:  # a run with one keeps it
            raise DeepPhotoError("effect 'replace' needs a background file: start the run with --background")
        self.pipe.update(**values)  # a style given alone replaces the effect, and the other way (Settings.changed)
        return self.status()

    def preview(self) -> bytes | None:
        with self.lock:
            image = self.latest
        if image is None:
            return None
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        return data.tobytes() if ok else None


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server_version = "deepphoto-control"

    def log_message(self, format: str, *args: object) -> None:  # quiet: the run's progress bar owns stderr
        pass

    @property
    def control(self) -> ControlServer:
        return self.server.control  # type: ignore[attr-defined]

    def _send(self, status: int, body: bytes, media: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: object) -> None:
        self._send(status, json.dumps(value).encode())

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        if host in LOOPBACK:
            return True
        self._json(403, {"error": f"host {host!r} refused: only loopback names"})
        return False

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        if not self._host_ok():
            return
        path = self.path.split("?", 1)[0]
        if path == "/status":
            self._json(200, self.control.status())
        elif path == "/preview.jpg":
            data = self.control.preview()
            if data is None:
                self._json(503, {"error": "no frame yet"})
            else:
                self._send(200, data, "image/jpeg")
        else:
            self._json(404, {"error": f"{path}: not here (GET /status, POST /settings, GET /preview.jpg)"})

    def _read_chunked(self, limit: int) -> bytes | None:
        """A chunked request body (http.server reads none itself), None past ``limit`` bytes;
        ValueError when its framing is broken."""
        parts, total = [], 0
        while True:
            size = int(self.rfile.readline(1024).split(b";", 1)[0].strip(), 16)  # ValueError: not a size
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):  # trailers, then the blank line
                    pass
                return b"".join(parts)
            total += size
            if size < 0 or total > limit:
                return None
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the chunk's CRLF

    def do_POST(self) -> None:  # noqa: N802
        if not self._host_ok():
            return
        if self.path.split("?", 1)[0] != "/settings":
            self._json(404, {"error": "POST /settings only"})
            return
        if self.headers.get("X-DeepPhoto") != "1":
            self._json(403, {"error": "changes need the header X-DeepPhoto: 1"})
            return
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():  # a script streaming its body
            try:
                data = self._read_chunked(MAX_BODY)
            except ValueError:
                self.close_connection = True
                self._json(400, {"error": "the chunked body could not be read: send the JSON with a Content-Length"})
                return
            if data is None:
                self.close_connection = True  # the rest of it unread
                self._json(413, {"error": "send a JSON object of at most 64 KB"})
                return
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._json(413 if length > MAX_BODY else 422, {"error": "send a JSON object of at most 64 KB"})
                return
            data = self.rfile.read(length)
        if not data:
            self._json(422, {"error": 'the body is empty: send a JSON object such as {"style": "wave"}'})
            return
        try:
            values = json_value(data)
        except WebError as exc:
            self._json(exc.status, {"error": str(exc)})
            return
        try:
            self._json(200, self.control.change(values))
        except DeepPhotoError as exc:
            self._json(422, {"error": str(exc)})
        except Exception as exc:  # steering must never end the run
            self._json(500, {"error": f"{type(exc).__name__}: {exc}"})
