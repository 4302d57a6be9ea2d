"""Review 32b: hunt 32's photo commits (BigTIFF, deep photos through their profile, TIFFs with a
thumbnail first and DNG, files cut off, HDR/PFM) as edit, batch and the Studio meet them."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest

from deepphoto import frames
from deepphoto.errors import DeepPhotoError
from tests.test_hunt32_photos import _tiff_of_pages


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("the pre-check decoded the photo")

    monkeypatch.setattr(frames, "read_image_alpha", refuse)
    monkeypatch.setattr(frames, "decode_photo", refuse)


def test_batch_checks_a_tiff_whose_directory_follows_its_picture_by_its_header(tmp_path, monkeypatch):
    """libtiff (OpenCV, GIMP, a scanner) writes a TIFF's directory after its picture: batch's check
    of every photo before Ray starts read the first 64 KB alone, found no size and decoded each such
    TIFF whole in the driver (a 16-bit one through its profile too), one after another."""
    rng = np.random.default_rng(32)
    path = tmp_path / "scan.tif"
    assert cv2.imwrite(str(path), rng.integers(0, 65536, (200, 300, 3), dtype=np.uint16))
    assert struct.unpack_from("<I", path.read_bytes(), 4)[0] > 1 << 16  # its directory at the end
    _no_decoding(monkeypatch)
    frames.check_photo(path)


def test_batch_refuses_a_huge_picture_behind_a_thumbnail_by_its_header(tmp_path, monkeypatch):
    """A thumbnail's directory first and the picture's past the first 64 KB: the pre-check read the
    thumbnail's size, and a picture of 20000x20000 behind it went to the workers."""
    rng = np.random.default_rng(32)
    photo = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)  # 76 KB: its directory past 64 KB
    data = _tiff_of_pages([(photo[:4, :4], 1), (photo, 0)])
    at = data.rindex(struct.pack("<HHI", 256, 4, 1))
    assert at > 1 << 16
    data = data[:at] + struct.pack("<HHIIHHII", 256, 4, 1, 20000, 257, 4, 1, 20000) + data[at + 24 :]
    path = tmp_path / "scan.tif"
    path.write_bytes(data)
    _no_decoding(monkeypatch)
    with pytest.raises(DeepPhotoError, match="20000x20000"):
        frames.check_photo(path)


def test_a_tiff_photo_that_copied_a_raw_files_tags_is_read_not_refused_as_dng(tmp_path):
    """An RGB TIFF whose first directory is its whole picture, with a DNGVersion tag among the tags
    a raw converter or 'exiftool -tagsfromfile IMG.DNG' copied from the raw file, was refused as a
    raw DNG and told to be exported as TIFF, which it was; edit and batch read it."""
    from PIL import Image, TiffImagePlugin

    rng = np.random.default_rng(32)
    photo = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[50706] = b"\x01\x04\x00\x00"  # DNGVersion 1.4.0.0
    tags.tagtype[50706] = 1
    path = tmp_path / "IMG_0001.tif"
    Image.fromarray(photo).save(path, tiffinfo=tags)
    frames.check_photo(path)
    image, alpha = frames.read_image_alpha(path)
    assert alpha is None and np.array_equal(image, photo[..., ::-1])
