"""A batch hunt's findings: an output folder under --out that is a link back into the input let
--overwrite replace the source; a SIGTERM during Ray's start-up aborted the batch with a C++ stack
dump (status 134); --address HOST:PORT that nobody answers hung for ever; add-style --content took a
Mac's hidden ._x.jpg for a photo, and called /dev/null missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepphoto import Settings
from deepphoto.errors import DeepPhotoError
from deepphoto.teachers.paintings import own_content

ray = pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
from deepphoto.batch.cluster import answers  # noqa: E402  (after the skip)
from deepphoto.batch.runner import BatchOptions, BatchRunner  # noqa: E402

SETTINGS = Settings(effect="blur", backend="onnx", precision="fp32", seg_input=(160, 128))


def picture(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 256, (48, 64, 3), np.uint8))
    return path


def test_overwrite_never_replaces_a_source_through_a_linked_output_folder(tmp_path):
    source = picture(tmp_path / "in" / "sub" / "pic.png")
    before = source.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(tmp_path / "in" / "sub")  # an output folder laid out with links to the originals
    report = BatchRunner([str(tmp_path / "in")], SETTINGS, BatchOptions(out=out, overwrite=True, progress=False)).run()
    assert report.count("failed") == 1 and report.count("done") == 0
    assert "is the source itself (through a link)" in report.outcomes[0].reason
    assert source.read_bytes() == before


def test_an_output_folder_that_links_out_of_out_is_refused(tmp_path):
    picture(tmp_path / "in" / "sub" / "pic.png")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(elsewhere)
    report = BatchRunner([str(tmp_path / "in")], SETTINGS, BatchOptions(out=out, progress=False)).run()
    assert report.count("failed") == 1
    assert "its folder is a link out of --out" in report.outcomes[0].reason
    assert list(elsewhere.iterdir()) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_nobody_answers_is_one_line_at_once():
    port = free_port()
    start = time.monotonic()
    with pytest.raises(DeepPhotoError, match=rf"cannot start or reach Ray at 127.0.0.1:{port} \(Connection refused\)"):
        answers(f"127.0.0.1:{port}")
    assert time.monotonic() - start < 5
    with pytest.raises(DeepPhotoError, match="expected auto, HOST:PORT or ray://HOST:PORT"):
        answers("nohost")
    answers("auto")  # left to Ray, which gives up by itself
    answers("ray://127.0.0.1:1")


def test_batch_with_an_address_nobody_answers_ends_with_status_2(tmp_path):
    photo = picture(tmp_path / "a.png")
    done = subprocess.run(
        [sys.executable, "-m", "deepphoto", "batch", str(photo), "--out", str(tmp_path / "out"), "--effect", "blur"]
        + ["--address", f"127.0.0.1:{free_port()}", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("deepphoto: error: cannot start or reach Ray at 127.0.0.1:")
    assert not (tmp_path / "out").exists()


def test_a_sigterm_during_rays_start_up_is_a_stop_not_an_abort(tmp_path):
    """Ray's driver got a SIGTERM right after it made its core worker inside ray.init (where its C++
    failure handler had taken SIGTERM): status 134 and a stack dump before; now status 130, one line."""
    photo = picture(tmp_path / "a.png")
    script = tmp_path / "term.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, signal, sys
            import ray._raylet
            real = ray._raylet.CoreWorker
            def core_worker(*args, **kwargs):
                worker = real(*args, **kwargs)
                os.kill(os.getpid(), signal.SIGTERM)
                return worker
            ray._raylet.CoreWorker = core_worker
            from deepphoto.commands.cli import main
            sys.exit(main())
            """
        )
    )
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script), "batch", str(photo), "--out", str(out), "--effect", "blur", "--quiet"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert done.returncode == 130, done.stderr
    assert "SIGTERM received" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "deepphoto: interrupted"
    assert not (out / "a.png").exists()


def test_add_style_content_skips_hidden_files(tmp_path):
    picture(tmp_path / "a.jpg")
    (tmp_path / "._a.jpg").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4000))
    (tmp_path / "b.jpg").mkdir()  # a folder named like a photo
    sources = own_content(tmp_path, 8)
    assert len(sources) == 1 and "-a-" in sources[0].stem
    assert sources[0].load().shape == (48, 64, 3)


def test_add_style_content_that_is_a_device_is_named_so(tmp_path):
    with pytest.raises(DeepPhotoError, match="is not a regular file") as caught:
        own_content(Path("/dev/null"), 4)
    assert "no such file" not in str(caught.value)
    with pytest.raises(DeepPhotoError, match="no such file or folder"):
        own_content(tmp_path / "missing", 4)
