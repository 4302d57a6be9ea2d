"""What a new user met trying the README's commands as written: ``build-engine`` called an INT8
engine that ran 1.02x as fast as float "slower than float" (it was faster, by less than the 1.1x
``--precision auto`` asks for), ``run --fps`` with a video file was dropped without a word
(it sets the rate of a camera, ``synthetic://`` and a folder of photos only), and a folder's
second HEIC photo was counted as "1 more images"."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from adversarial import RUN_FAST, cli
from media import make_clip, probe

from deepphoto.commands import build_engine
from deepphoto.commands.run import fps_applies
from deepphoto.stream.sources import open_source

GREY = ["--effect", "grey"]
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64  # an iPhone photo's start


def _record(use: str, speedup: float) -> dict:
    return {
        "key": {"backend_version": "ort1.0", "device": "test CPU"},
        "calibration": "frames",
        "calibration_frames": 8,
        "gate": "pass",
        "use": use,
        "ms": 10.0 / speedup,
        "float_ms": 10.0,
        "reference": "ONNX Runtime fp32 (CPU)",
        "speedup": speedup,
        "bench_size": "352x352",
    }


@pytest.mark.parametrize(
    ("speedup", "says", "runs"),
    [
        (1.02, "only 1.02x as fast as float here (auto asks for 1.1x)", "fp32"),
        (0.9, "is slower than float here", "fp32"),
        (1.84, "is faster than float here", "int8"),
    ],
)
def test_build_engine_says_how_the_engine_timed(capsys, monkeypatch, tmp_path, speedup, says, runs):
    built = SimpleNamespace(path=tmp_path / "engine.onnx", info=_record("int8", speedup))
    monkeypatch.setattr(build_engine, "build", lambda *a, **k: built)
    result = cli(capsys, "build-engine", "lightnet")
    assert result.status == 0, result.err
    verdict = next(line for line in result.out.splitlines() if line.startswith("result"))
    assert says in verdict and verdict.endswith(f"--precision auto runs {runs}"), verdict
    if speedup >= 1:
        assert "slower" not in verdict, verdict


def test_fps_with_a_video_file_is_said_to_be_unused(capsys, tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=4, fps=25)
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", clip, out, *RUN_FAST, *GREY, "--fps", "10")
    assert result.status == 0, result.err
    assert any("--fps 10 left unused" in w and "keeps its own timing" in w for w in result.warnings), result.err
    assert probe(out)["frames"] == 4


def test_fps_with_a_folder_of_photos_sets_its_rate_without_a_warning(capsys, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((64, 96, 3), 40 * i, np.uint8))
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", folder, out, *RUN_FAST, *GREY, "--fps", "1")
    assert result.status == 0, result.err
    assert not any("--fps" in w for w in result.warnings), result.err
    assert probe(out)["duration"] == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize(
    ("uri", "applies"),
    [
        ("/dev/video0", True),
        ("v4l2://1", True),
        ("csi://0", True),
        ("synthetic://", True),
        ("rtsp://camera/stream", False),
        ("https://example.org/clip.mp4", False),
        ("clip.mp4", False),
        ("photo.jpg", False),
    ],
)
def test_which_inputs_take_fps(uri, applies):
    assert fps_applies(uri) is applies


def test_a_folder_takes_fps(tmp_path: Path):
    assert fps_applies(str(tmp_path)) is True


def test_one_more_heic_photo_is_said_in_the_singular(tmp_path, capsys):
    folder = tmp_path / "phone"
    folder.mkdir()
    cv2.imwrite(str(folder / "IMG_0000.png"), np.full((24, 32, 3), 128, np.uint8))
    for i in (1, 2):
        (folder / f"IMG_{i:04d}.HEIC").write_bytes(HEIC_HEAD)
    source = open_source(str(folder))
    assert len(list(source)) == 1 and source.unreadable == 2
    heic = [line for line in capsys.readouterr().err.splitlines() if "a HEIC photo" in line]
    assert heic[1].startswith("deepphoto: warning: 1 more image: a HEIC photo"), heic
