"""``deepphoto serve`` as people run it: prints its address, serves the page, ends cleanly on SIGTERM
and SIGHUP leaving no temporary folder, asks for a token beyond this machine, one-line errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepphoto", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    assert line.startswith("DeepPhoto Studio: http://"), line + proc.stderr.read()
    return proc, line.split()[2]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def stop(proc: subprocess.Popen, sig: int) -> str:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err
    return err


def test_serve_prints_its_address_serves_the_page_and_cleans_up(tmp_path):
    proc, url = start(tmp_path)
    try:
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        status, page = get(url)
        assert status == 200 and "DeepPhoto Studio" in page
        status, script = get(url + "static/app.js")
        assert status == 200 and "api/hello" in script
        assert list(tmp_path.glob("deepphoto-studio-*"))  # uploads would go there
    finally:
        stop(proc, signal.SIGTERM)
    assert not list(tmp_path.glob("deepphoto-studio-*"))


def test_beyond_this_machine_a_warning_and_a_token(tmp_path):
    proc, url = start(tmp_path, "--host", "0.0.0.0")
    try:
        assert "?token=" in url
        base = url.split("?")[0]
        status, body = get(base)
        assert status == 401 and "token" in body
        status, page = get(url)
        assert status == 200 and "DeepPhoto Studio" in page
    finally:
        err = stop(proc, signal.SIGHUP)
    assert "warning" in err and "0.0.0.0" in err
    assert not list(tmp_path.glob("deepphoto-studio-*"))


@pytest.mark.parametrize("args, words", [(["--port", "70000"], "--port"), (["--max-mb", "0"], "--max-mb")])
def test_bad_options_are_one_line(args, words):
    done = subprocess.run([sys.executable, "-m", "deepphoto", "serve", *args], capture_output=True, text=True)
    assert done.returncode == 2 and words in done.stderr and done.stderr.count("\n") == 1


def test_a_port_in_use_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "deepphoto", "serve", "--port", str(port)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "in use" in done.stderr and done.stderr.count("\n") == 1
