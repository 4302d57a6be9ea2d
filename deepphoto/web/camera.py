"""The Camera tab's side: a ``deepphoto run CAMERA vcam:// --control PORT`` steered from the page,
either one the user started (``serve --camera PORT``) or one the page starts and stops itself.

The page picks a source and an output from lists the server makes (the cameras it finds, the test
pattern; the virtual camera, or no output but the preview); nothing it sends becomes a path. The run
is a child process: the studio's own pipelines and the call's camera never share a thread.
"""

from __future__ import annotations

import glob
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from typing import Any

from deepphoto.settings import Settings, shown
from deepphoto.web.control import STEERABLE, parse_address
from deepphoto.web.errors import WebError

OUTPUTS = {"vcam://": "virtual camera (v4l2loopback)", "null://": "none: preview only"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def camera_sources() -> dict[str, str]:
    """URI -> label: every /dev/videoN here, then the moving test pattern."""
    found = {dev: f"camera {dev}" for dev in sorted(glob.glob("/dev/video[0-9]*"), key=lambda d: int(d[10:] or 0))}
    found["synthetic://"] = "test pattern"
    return found


class ControlLink:
    """HTTP to one control endpoint (``deepphoto.web.control``) on this machine."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 3.0) -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
            req.add_header("X-DeepPhoto", "1")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as reply:
                return reply.read()
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", "")
            except (ValueError, AttributeError):
                message = ""
            # what the run refuses of the request (a bad value, a body too large) is the sender's to fix
            status = exc.code if exc.code in (411, 413, 422) else 502
            raise WebError(status, message or f"the run answered {exc.code}") from None
        except (OSError, urllib.error.URLError):
            raise WebError(502, f"the run at {self.base} is not answering") from None

    def status(self) -> dict[str, Any]:
        return json.loads(self._call("GET", "/status"))

    def change(self, values: dict[str, Any]) -> dict[str, Any]:
        return json.loads(self._call("POST", "/settings", values, timeout=30.0))

    def preview(self) -> bytes:
        return self._call("GET", "/preview.jpg")


class CameraDesk:
    """The run the Camera tab steers: attached to (``attach``: '[HOST:]PORT') or started here."""

    def __init__(self, base: Settings, attach: str | None = None) -> None:
        self.base = base
        self.attached = ControlLink(*parse_address(attach)) if attach else None
        self.process: subprocess.Popen[str] | None = None
        self.link: ControlLink | None = None
        self.started: dict[str, str] = {}
        # the page that started a run with no output but its preview: the run goes with that page
        # (nobody else sees it, and it held the camera: a call could not open it, its light stayed on)
        self.preview_of: str | None = None
        self.log: deque[str] = deque(maxlen=20)
        self.lock = threading.Lock()

    def current(self) -> ControlLink:
        link = self.attached or self.link
        if link is None:
            raise WebError(409, "no run to steer: start one here, or start 'deepphoto serve --camera PORT'")
        if self.attached is None and (self.process is None or self.process.poll() is not None):
            raise WebError(409, "the run has ended: start it again")
        return link

    def state(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "sources": camera_sources(),
            "outputs": OUTPUTS,
            "attached": self.attached.base if self.attached else None,
            "started": self.started or None,
            "running": False,
            "exit": None,
            "log": list(self.log)[-4:],
            "status": None,
        }
        if self.process is not None:
            info["exit"] = self.process.poll()
            info["running"] = info["exit"] is None
        if self.attached is not None or info["running"]:
            try:
                info["status"] = self.current().status()
                info["running"] = True
            except WebError as exc:
                info["status"] = {"error": str(exc)}
        return info

    def start(self, source: object, output: object, look: dict[str, Any], client: str | None = None) -> dict[str, Any]:
        """Start a run of ``source`` into ``output``; one into ``null://`` (its preview only) is
        stopped when ``client``, the page that started it, goes away (``drop_client``)."""
        sources = camera_sources()
        for name, value, known in (("camera", source, sources), ("output", output, OUTPUTS)):
            if value is None:  # a script's body without it: no 'unknown camera None'
                key = "source" if name == "camera" else "output"
                raise WebError(422, f'no {name} given ("{key}"): choose from {", ".join(known)}')
            if not isinstance(value, str) or value not in known:
                raise WebError(422, f"unknown {name} {shown(value)}: choose from {', '.join(known)}")
        if self.attached is not None:
            raise WebError(409, f"this studio steers the run at {self.attached.base}; it starts none of its own")
        unknown = sorted(set(look) - set(STEERABLE))
        if unknown:
            raise WebError(422, f"setting {unknown[0]!r} cannot be given here: use {', '.join(STEERABLE)}")
        settings = self.base.changed(**{k: v for k, v in look.items() if k != "effect" or v != "replace"})
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                raise WebError(409, "a run is going already: stop it first")
            port = free_port()
            cmd = [sys.executable, "-m", "deepphoto", "run", source, output, "--control", f"127.0.0.1:{port}"]
            cmd += ["--quiet", "--region", settings.region, "--threshold", str(settings.threshold)]
            cmd += ["--smooth", str(settings.smooth), "--feather", str(settings.feather)]
            cmd += ["--keep-exposure", str(settings.keep_exposure)]
            if not settings.refine:  # a look's "refine": false (a script's; the page sends none)
                cmd += ["--no-refine"]
            cmd += ["--backend", settings.backend, "--precision", settings.precision, "--segmenter", settings.segmenter]
            if settings.style:
                cmd += ["--style", settings.style, "--strength", str(settings.strength)]
            elif settings.effect:
                cmd += ["--effect", settings.effect]
            if settings.threads:
                cmd += ["--threads", str(settings.threads)]
            if source == "synthetic://":
                cmd += ["--fps", "15"]  # a test pattern: no need to keep two cores busy
            self.log.clear()
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            self.link = ControlLink("127.0.0.1", port)
            self.started = {"source": source, "output": output}
            self.preview_of = client if output == "null://" else None
            threading.Thread(target=self._keep_log, args=(self.process,), daemon=True).start()
        return self.state()

    def _keep_log(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.strip()
            if line:
                self.log.append(line[:300])

    def stop(self) -> dict[str, Any]:
        with self.lock:
            process = self.process
        if process is None or process.poll() is not None:
            return self.state()
        process.send_signal(signal.SIGINT)  # the run finalises its output and exits
        for sig, wait in ((None, 15.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if sig is not None:
                process.send_signal(sig)
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        return self.state()

    def drop_client(self, client: str) -> None:
        """A page went away: the preview-only run it started stops (on a thread of its own: a stop
        may wait for the run to finalise); a run into a virtual camera goes on (a call uses it)."""
        with self.lock:
            process, mine = self.process, self.preview_of == client
        if mine and process is not None and process.poll() is None:
            threading.Thread(target=self.stop, name="deepphoto-camera-stop", daemon=True).start()

    def change(self, values: dict[str, Any]) -> dict[str, Any]:
        return self.current().change(values)

    def preview(self) -> bytes:
        return self.current().preview()

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Whether the started run answers within ``timeout`` seconds (tests, screenshots)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                self.current().status()
                return True
            except WebError as exc:
                if exc.status == 409:
                    return False
                time.sleep(0.3)
        return False

    def close(self) -> None:
        self.stop()
