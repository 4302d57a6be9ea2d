"""Hunt 31 (phonephotos): photos as phones, cameras and editors write them, through `deepphoto edit`
(``read_image_alpha``) and the Studio's photo upload (``decode_upload``)."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

from deepphoto.frames import read_image_alpha
from deepphoto.web.limits import UploadLimits, decode_upload


def _photo(h: int = 48, w: int = 64, seed: int = 31) -> np.ndarray:
    """A smooth, seeded BGR picture with a red corner at its top left (which way up it is read)."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(40, 216, (h, w, 3), dtype=np.uint8), (9, 9), 0)
    img[:8, :10] = (0, 0, 255)
    return img


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(bgr: np.ndarray, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """``bgr`` as a PNG with ``chunks`` (type, data) placed after its header."""
    data = cv2.imencode(".png", bgr)[1].tobytes()
    return data[:33] + b"".join(_chunk(k, d) for k, d in chunks) + data[33:]  # signature (8) + IHDR (25)


# ------------------------------------------------------------ a PNG's text chunks

XMP = b"XML:com.adobe.xmp\0\0\0\0\0"  # an iTXt's keyword, uncompressed, no language or translated keyword


def test_a_png_with_a_huge_xmp_packet_is_read(tmp_path, capfd):
    """Photoshop keeps a photo's edit history in its XMP (DocumentAncestors), which grows past 8 MB;
    in a PNG (an iTXt chunk) OpenCV refused the whole photo: 'not a readable image', and the Studio
    'not a readable PNG image (damaged?)'. A tEXt of as much wrote 'libpng warning: tEXt: out of
    memory' on stderr before the photo was read."""
    img = _photo()
    packet = b"<x:xmpmeta>" + b" " * 8_500_000 + b"</x:xmpmeta>"
    for kind, data in ((b"iTXt", XMP + packet), (b"tEXt", b"Comment\0" + packet)):
        path = tmp_path / f"{kind.decode()}.png"
        path.write_bytes(_png(img, [(kind, data)]))
        got, alpha = read_image_alpha(path)
        assert alpha is None and np.array_equal(got, img)
        limits = UploadLimits(max_bytes=20 << 20)
        assert np.array_equal(decode_upload(path.read_bytes(), limits)[0], img)
        assert "libpng" not in capfd.readouterr().err


def test_a_png_whose_packed_text_unpacks_large_keeps_its_colour_conversion(tmp_path):
    """A zTXt that unpacks past 1 MB (ImageMagick keeps a big XMP or EXIF so, as hex) made Pillow
    refuse to open the file, so its colour description (here a gAMA of 1/1.8, an old Mac PNG) was
    not read and the photo came out as stored: 14 levels darker than viewers show it."""
    img = _photo()
    gama = (b"gAMA", struct.pack(">I", round(100000 / 1.8)))
    plain = tmp_path / "plain.png"
    plain.write_bytes(_png(img, [gama]))
    packed = tmp_path / "packed.png"
    text = b"Raw profile type xmp\0\0" + zlib.compress(b"0" * 3_000_000)
    packed.write_bytes(_png(img, [gama, (b"zTXt", text)]))
    want = read_image_alpha(plain)[0]
    assert np.abs(want.astype(int) - img).max() > 5  # the gAMA chunk is applied
    assert np.array_equal(read_image_alpha(packed)[0], want)
