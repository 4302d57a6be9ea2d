"""Hunt 29 (photos): what `deepphoto edit` makes of the files a user has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import read_image_alpha

ROOT = Path(__file__).resolve().parents[1]


def _photo(h: int = 72, w: int = 96, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (7, 7), 0)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- a PNG, BMP or TIFF cut off


def test_a_png_missing_only_its_end_chunk_is_read_whole(tmp_path, capfd):
    """A PNG whose last 12 bytes (the IEND chunk) are missing, shown whole by every viewer, was
    'libpng error: PNG input buffer is incomplete' then 'not a readable image'."""
    photo = _photo()
    whole = cv2.imencode(".png", photo)[1].tobytes()
    got, alpha = read_image_alpha(_write(tmp_path / "no-end.png", whole[:-12]))
    assert alpha is None and np.array_equal(got, photo)
    err = capfd.readouterr().err
    assert "ends early" in err and "libpng" not in err


def test_a_png_cut_in_its_picture_is_read_as_far_as_it_goes(tmp_path, capfd):
    photo = _photo(128, 96)
    whole = cv2.imencode(".png", photo, [cv2.IMWRITE_PNG_COMPRESSION, 0])[1].tobytes()
    got, _ = read_image_alpha(_write(tmp_path / "cut.png", whole[: len(whole) // 2]))
    assert got.shape == photo.shape and np.array_equal(got[:32], photo[:32])  # the top is there
    err = capfd.readouterr().err
    assert "ends early" in err and "libpng" not in err


def test_a_transparent_png_cut_off_keeps_its_transparency(tmp_path, capfd):
    rgba = np.dstack([_photo(), np.full((72, 96), 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    whole = cv2.imencode(".png", rgba)[1].tobytes()
    got, alpha = read_image_alpha(_write(tmp_path / "cut.png", whole[:-12]))
    assert alpha is not None and np.array_equal(alpha, rgba[..., 3])
    assert np.array_equal(got[20:], rgba[20:, :, :3]) and (got[:10, :10] == 255).all()  # clear: on white


def test_a_sixteen_bit_png_cut_off_is_not_white(tmp_path, capfd):
    grey = _photo()[..., 0].astype(np.uint16) * 257
    whole = cv2.imencode(".png", grey)[1].tobytes()
    got, _ = read_image_alpha(_write(tmp_path / "cut16.png", whole[:-12]))
    assert np.array_equal(got[..., 0], (grey >> 8).astype(np.uint8))


@pytest.mark.parametrize("suffix", [".bmp", ".tif"])
def test_a_bmp_or_tiff_cut_off_is_read_without_opencvs_error_lines(tmp_path, capfd, suffix):
    """A BMP missing its last bytes, a TIFF cut in its picture: OpenCV's '[ERROR:0@0.6] ...
    TIFF_Error' lines (six for a TIFF), then 'not a readable image'."""
    if "OPENCV_LOG_LEVEL" in os.environ:
        pytest.skip("OPENCV_LOG_LEVEL is set here: OpenCV's lines are shown as asked")
    import io

    from PIL import Image

    photo = _photo(128, 96)
    stored = io.BytesIO()  # Pillow writes a TIFF's directory before its picture, as cameras and scanners do
    Image.fromarray(photo[..., ::-1]).save(stored, format="BMP" if suffix == ".bmp" else "TIFF")
    whole = stored.getvalue()
    got, _ = read_image_alpha(_write(tmp_path / f"cut{suffix}", whole[: len(whole) * 2 // 3]))
    assert got.shape == photo.shape
    rows = slice(-32, None) if suffix == ".bmp" else slice(0, 32)  # a BMP is stored from the bottom up
    assert np.array_equal(got[rows], photo[rows])
    err = capfd.readouterr().err
    assert "ends early" in err and "ERROR" not in err


def test_a_png_cut_before_its_picture_is_not_read_blank(tmp_path):
    whole = cv2.imencode(".png", _photo())[1].tobytes()
    with pytest.raises(DeepPhotoError, match="not a readable image"):
        read_image_alpha(_write(tmp_path / "stub.png", whole[:60]))


def test_a_png_damaged_inside_is_not_said_to_end_early(tmp_path, capfd):
    whole = bytearray(cv2.imencode(".png", _photo())[1].tobytes())
    whole[len(whole) // 2 : len(whole) // 2 + 16] = bytes(16)
    with pytest.raises(DeepPhotoError, match="not a readable image"):
        read_image_alpha(_write(tmp_path / "damaged.png", bytes(whole)))
    assert "ends early" not in capfd.readouterr().err


def test_edit_of_a_cut_png_writes_its_picture_with_one_warning(tmp_path):
    """The command as a user runs it: a warning line, the photo written; no libpng line."""
    whole = cv2.imencode(".png", _photo(64, 48))[1].tobytes()
    src = _write(tmp_path / "download.png", whole[:-12])
    out = tmp_path / "out.png"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OPENCV_LOG_LEVEL", None)
    done = subprocess.run(
        [sys.executable, "-m", "deepphoto", "edit", str(src), str(out), "--effect", "grey", "--region", "whole"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [x for x in done.stderr.splitlines() if "backend" not in x]
    assert lines == [f"deepphoto: warning: {src}: the file ends early (cut off); what it holds is used, the rest blank"]
    assert cv2.imread(str(out)).shape == (64, 48, 3)


def test_a_studio_upload_of_a_cut_png_is_read_with_a_note():
    from deepphoto.web.limits import UploadLimits, decode_upload

    photo = _photo()
    whole = cv2.imencode(".png", photo)[1].tobytes()
    notes: list[str] = []
    image, alpha = decode_upload(whole[:-12], UploadLimits(), notes=notes)
    assert np.array_equal(image, photo) and alpha is None
    assert notes == ["the file ends early (cut off): what it holds is used, the rest blank"]
