"""Hunt 32 (photos): still images as `deepphoto edit` and the Studio read them."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import check_photo, more_than_one, read_image_alpha

# ------------------------------------------------------------ BigTIFF


def _bigtiff(w: int, h: int, body: bytes, compression: int = 1, samples: int = 1) -> bytes:
    """A little-endian BigTIFF of 8-bit samples in one strip ``body`` (compressed as
    ``compression`` says: 1 none, 8 deflate)."""
    entries = [
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 8),
        (259, 3, 1, compression),
        (262, 3, 1, 1 if samples == 1 else 2),  # grey or RGB
        (273, 16, 1, 16 + 8 + 20 * 9 + 8),  # the strip, after the directory
        (277, 3, 1, samples),
        (278, 4, 1, h),
        (279, 16, 1, len(body)),
    ]
    ifd = struct.pack("<Q", len(entries)) + b"".join(struct.pack("<HHQQ", *e) for e in entries) + bytes(8)
    return b"II+\x00" + struct.pack("<HHQ", 8, 0, 16) + ifd + body


def _bigtiff_bomb(side: int) -> bytes:
    """A BigTIFF of ``side`` x ``side`` black pixels in a few hundred kilobytes."""
    pack = zlib.compressobj(9)
    row = bytes(side)
    return _bigtiff(side, side, b"".join(pack.compress(row) for _ in range(side)) + pack.flush(), 8)


def test_a_bigtiff_larger_than_deepphoto_paints_is_refused_by_its_header(tmp_path, monkeypatch):
    """A BigTIFF's header was not read: one of 15000x15000 pixels in 220 KB was decoded whole
    (seconds, and gigabytes of memory for a colour one) before it was refused as too large, by
    `edit` and by `batch`'s check of every photo before it starts."""
    import deepphoto.frames as frames

    path = tmp_path / "bomb.tif"
    path.write_bytes(_bigtiff_bomb(15000))

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(frames, "decode_photo", no_decoding)
    for read in (read_image_alpha, check_photo):
        with pytest.raises(DeepPhotoError, match=r"15000x15000 pixels \(225 megapixels\) is more than"):
            read(path)


def test_a_bigtiff_is_read_as_a_tiff_is(tmp_path):
    """A BigTIFF of ordinary size reads as the same TIFF does; one with an alpha channel has its
    clear pixels on white (they came out in the colour stored under them, black), its pages are
    counted."""
    rng = np.random.default_rng(32)
    grey = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    path = tmp_path / "grey.tif"
    path.write_bytes(_bigtiff(30, 20, grey.tobytes()))
    assert np.array_equal(read_image_alpha(path)[0], np.dstack([grey] * 3))

    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0], rgba[:, :15, 3] = 200, 255  # red, its right half clear
    path = tmp_path / "rgba.tif"
    Image.fromarray(rgba, "RGBA").save(path, big_tiff=True)
    assert path.read_bytes()[:4] == b"II+\x00"
    image, alpha = read_image_alpha(path)
    assert alpha is not None and alpha[0, 20] == 0 and alpha[0, 0] == 255
    assert image[0, 0].tolist() == [0, 0, 200] and image[0, 20].tolist() == [255, 255, 255]

    pages = tmp_path / "pages.tif"
    frames = [Image.fromarray(rgba[..., :3]), Image.fromarray(rgba[::-1, :, :3].copy())]
    frames[0].save(pages, big_tiff=True, save_all=True, append_images=frames[1:])
    assert more_than_one(np.fromfile(pages, np.uint8)) == "a TIFF of 2 pages"
