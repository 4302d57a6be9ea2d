"""Helpers of the adversarial suite (tests/test_adversarial_*.py, tests/test_signals.py): run the
command line, and check what every case promises: the exit status, one line naming the problem,
no traceback, and the state of the output (playable with N frames, absent, the source untouched)."""

from __future__ import annotations

import hashlib
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deepphoto.commands.cli import main

# The pipeline at its cheapest: the robustness of files and options is under test, not the masks.
FAST = ["--backend", "onnx", "--precision", "fp32", "--seg-input", "64x64", "--threads", "1"]
RUN_FAST = [*FAST, "--quiet"]
_SCRIPT = Path(sys.executable).with_name("deepphoto")  # the console script of this environment
DEEPPHOTO = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "deepphoto"]  # a command line


@dataclass
class Result:
    status: int
    out: str
    err: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("deepphoto: error:")]

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("deepphoto: warning:")]


def cli(capsys, *argv: object) -> Result:
    """``deepphoto ARGV`` in this process; nothing may escape it (a traceback would fail the test)."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return Result(status, captured.out, captured.err)


def refused(capsys, *argv: object, says: str) -> Result:
    """The command ends with status 2 and exactly one error line, which contains ``says``."""
    result = cli(capsys, *argv)
    assert result.status == 2, (result.status, result.err)
    assert len(result.errors) == 1, result.err
    assert says in result.errors[0], result.errors[0]
    return result


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders a writer left behind (their names say '.partial')."""
    found = []
    for root, dirs, files in os.walk(folder):
        found += [os.path.join(root, n) for n in dirs + files if ".partial" in n or n.endswith(".part")]
    return found


def write_png(path: Path, image: np.ndarray) -> Path:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    Path(path).write_bytes(buf.tobytes())
    return Path(path)


def read_png(path: Path) -> np.ndarray:
    return cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)


def jpeg_with_orientation(path: Path, image: np.ndarray, orientation: int) -> Path:
    """A JPEG of ``image`` whose EXIF says to turn it (6: 90 degrees clockwise, as phones write)."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = buf.tobytes()
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, orientation) + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    Path(path).write_bytes(data[:2] + app1 + data[2:])
    return Path(path)


def marked_picture(w: int, h: int) -> np.ndarray:
    """Grey, with a white bar along the left edge: where it ends up shows how a picture was turned."""
    img = np.full((h, w, 3), 90, np.uint8)
    img[:, : max(2, w // 5)] = 255
    return img
