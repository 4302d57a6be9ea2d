"""Steering a running ``deepphoto run ... --control PORT`` (the Camera tab), and ``Pipeline.update``
from another thread while frames go through."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from steered_runs import answering, steered_run, stopped

from deepphoto.errors import DeepPhotoError
from deepphoto.pipeline import Pipeline
from deepphoto.settings import Settings
from deepphoto.web.camera import ControlLink, free_port
from deepphoto.web.control import parse_address


def test_control_address_is_loopback_only():
    assert parse_address("8765") == ("127.0.0.1", 8765)
    assert parse_address("localhost:0") == ("127.0.0.1", 0)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for bad in ("10.1.2.3:80", "0.0.0.0:80", "example.com:1", "port", "70000"):
        with pytest.raises(DeepPhotoError):
            parse_address(bad)


def test_run_refuses_a_remote_control_address_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "deepphoto", "run", "synthetic://", "null://", "--control", "10.1.2.3:80"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "only this machine" in done.stderr


def request(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_run_is_steered_while_it_runs():
    port = free_port()
    run = steered_run(port, "--style", "wave", fps=15, size="320x240")
    link = ControlLink("127.0.0.1", port)
    base = f"http://127.0.0.1:{port}"
    try:
        status = answering(link, run, frames=3, deadline_s=120)
        assert status["look"] == "wave on the background" and status["fps"] > 0

        before = cv2.imdecode(np.frombuffer(link.preview(), np.uint8), cv2.IMREAD_COLOR)
        assert before is not None and before.shape[1] == 480  # a small copy of the newest output

        changed = link.change({"style": "scream", "region": "whole", "threshold": 0.4})
        assert changed["look"] == "scream on the whole" and changed["settings"]["threshold"] == 0.4
        time.sleep(1.5)
        after = cv2.imdecode(np.frombuffer(link.preview(), np.uint8), cv2.IMREAD_COLOR)
        assert np.abs(after.astype(int) - before).mean() > 5  # the new look reached the frames

        # refused: no custom header, a bad value, a path, another host name
        status_code, body = request(base + "/settings", {"style": "wave"})
        assert status_code == 403 and "X-DeepPhoto" in json.loads(body)["error"]
        hdr = {"X-DeepPhoto": "1", "Content-Type": "application/json"}
        status_code, body = request(base + "/settings", {"threshold": 7}, hdr)
        assert status_code == 422 and "threshold" in json.loads(body)["error"]
        status_code, body = request(base + "/settings", {"background": "/etc/passwd"}, hdr)
        assert status_code == 422 and "cannot be changed here" in json.loads(body)["error"]
        status_code, body = request(base + "/status", headers={"Host": "attacker.example"})
        assert status_code == 403
        assert link.status()["look"] == "scream on the whole"  # the refusals changed nothing
    finally:
        out, err = stopped(run)
    assert "Traceback" not in err
    assert "frames in" in out  # the run's summary: it ended cleanly


def test_update_from_another_thread_lands_between_frames():
    """Frames through the pipeline on one thread while another thread switches looks and mask
    settings as fast as it can: every frame is whole and nothing raises."""
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    frame[30:110, 60:100] = (60, 120, 220)
    errors: list[BaseException] = []
    stop = threading.Event()
    settings = Settings(style="wave", backend="onnx", precision="fp32", style_scale=0.5, threads=1)
    with Pipeline(settings) as pipe:

        def steer() -> None:
            looks = [{"style": "scream", "effect": None}, {"style": None, "effect": "blur"}]
            looks.append({"style": "wave", "effect": None})
            i = 0
            try:
                while not stop.is_set():
                    pipe.update(**looks[i % 3], region=("whole", "person", "background")[i % 3], feather=i % 5)
                    i += 1
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=steer)
        thread.start()
        try:
            outs = [pipe(frame) for _ in range(25)]
        finally:
            stop.set()
            thread.join()
    assert not errors, errors
    assert all(o.shape == frame.shape and o.dtype == np.uint8 for o in outs)
