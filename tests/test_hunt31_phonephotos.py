"""Hunt 31 (phonephotos): photos as phones, cameras and editors write them, through `deepphoto edit`
(``read_image_alpha``) and the Studio's photo upload (``decode_upload``)."""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction

import cv2
import numpy as np
import pytest
from media import deep_tiff
from PIL import Image

from deepphoto.commands.cli import main
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import check_photo, read_image_alpha
from deepphoto.web.errors import WebError
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


# ------------------------------------------------------------ a camera's rare JPEGs


def _twelve_bit_jpeg(bgr: np.ndarray) -> bytes:
    """``bgr`` as a 12-bit JPEG (extended sequential DCT: a camera's or scanner's rare mode): an
    8-bit one's coefficients under a 12-bit frame header, which FFmpeg decodes (low in contrast)."""
    data = bytearray(cv2.imencode(".jpg", bgr)[1].tobytes())
    at = data.find(b"\xff\xc0")
    data[at + 1], data[at + 4] = 0xC1, 12
    return bytes(data)


def _lossless_jpeg(rgb: np.ndarray) -> bytes:
    """``rgb`` as a lossless JPEG in YCbCr 4:2:0, as FFmpeg's ljpeg encoder writes one."""
    av = pytest.importorskip("av")
    codec = av.CodecContext.create("ljpeg", "w")
    codec.width, codec.height, codec.pix_fmt = rgb.shape[1], rgb.shape[0], "yuvj420p"
    codec.time_base = Fraction(1, 25)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuvj420p")
    return b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])


@pytest.mark.parametrize("kind", ["12-bit", "lossless"])
def test_a_jpeg_of_a_rare_kind_is_refused_by_name(tmp_path, capsys, kind):
    """A 12-bit JPEG was 'not a readable image' (the Studio: 'not a readable JPEG image (damaged?)'),
    as if the file were damaged; a lossless JPEG in YCbCr came out in false colours (red as blue,
    without a word): libjpeg-turbo hands its YCbCr over unconverted."""
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:] = (200, 30, 30)
    data = _twelve_bit_jpeg(rgb[..., ::-1]) if kind == "12-bit" else _lossless_jpeg(rgb)
    path = tmp_path / "camera.jpg"
    path.write_bytes(data)
    said = "a 12-bit JPEG" if kind == "12-bit" else "a lossless JPEG in YCbCr colours"
    with pytest.raises(DeepPhotoError, match=f"camera.jpg: {said}, which DeepPhoto does not read: save it as PNG"):
        read_image_alpha(path)
    with pytest.raises(DeepPhotoError, match=said):
        check_photo(path)  # a batch's check before Ray starts
    with pytest.raises(WebError, match=f"photo: {said}, which DeepPhoto does not read") as refused:
        decode_upload(data, UploadLimits())
    assert refused.value.status == 415
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[:-2])  # its end marker missing: not read as a file cut off either
    with pytest.raises(DeepPhotoError, match=said):
        read_image_alpha(cut)
    assert main(["edit", str(path), str(tmp_path / "out.png")]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "out.png").exists()


def test_ordinary_jpegs_are_not_refused(tmp_path):
    """Baseline, progressive, CMYK (Adobe's inverted) and an 8-bit lossless JPEG marked RGB are read."""
    from deepphoto.image_header import jpeg_unread

    img = _photo()
    rgb = Image.fromarray(img[..., ::-1])
    for name, options in (("baseline", {}), ("progressive", {"progressive": True})):
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=95, **options)
        (tmp_path / f"{name}.jpg").write_bytes(buf.getvalue())
        got = read_image_alpha(tmp_path / f"{name}.jpg")[0]
        assert np.abs(got.astype(int) - img).mean() < 3
    buf = io.BytesIO()
    rgb.convert("CMYK").save(buf, "JPEG", quality=95)
    assert not jpeg_unread(buf.getvalue())
    (tmp_path / "cmyk.jpg").write_bytes(buf.getvalue())
    assert np.abs(read_image_alpha(tmp_path / "cmyk.jpg")[0].astype(int) - img).mean() < 6
    # a lossless frame header of components named 'R', 'G', 'B' (no JFIF marker): RGB, read as stored
    sof3 = b"\xff\xc3\x00\x11\x08\x00\x30\x00\x40\x03R\x11\x00G\x11\x00B\x11\x00"
    assert not jpeg_unread(b"\xff\xd8" + sof3)
    assert jpeg_unread(b"\xff\xd8" + sof3.replace(b"R\x11\x00G\x11\x00B", b"\x01\x11\x00\x02\x11\x00\x03"))


# ------------------------------------------------------------ orientation


XMP_TURN = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
)


@pytest.mark.parametrize("kind", ["JPEG", "AVIF"])
def test_an_xmp_orientation_alone_turns_a_photo_neither_whole_nor_cut_off(tmp_path, kind):
    """A photo whose XMP alone says 'turn 90 degrees' (its EXIF says nothing) is shown as stored by
    browsers, and was read so whole (OpenCV reads EXIF only); cut off, Pillow read it, followed the
    XMP and turned it on its side; an AVIF (read by Pillow) was turned whole."""
    img = _photo()
    buf = io.BytesIO()
    Image.fromarray(img[..., ::-1]).save(buf, kind, quality=95, xmp=XMP_TURN)
    data = buf.getvalue()
    whole = tmp_path / f"whole.{kind.lower()}"
    whole.write_bytes(data)
    got = read_image_alpha(whole)[0]
    assert got.shape == img.shape and got[:8, :10].mean(axis=(0, 1))[2] > 200  # as stored: red top left
    if kind == "JPEG":
        cut = tmp_path / "cut.jpg"
        cut.write_bytes(data[:-2])  # its end marker missing
        assert read_image_alpha(cut, warn=lambda message: None)[0].shape == img.shape
    upload = decode_upload(data, UploadLimits())[0]
    assert upload.shape == img.shape


# ------------------------------------------------------------ a TIFF of float samples


def test_a_float_tiff_with_a_linear_profile_is_read_as_its_profile_says(tmp_path):
    """A 32-bit float TIFF in linear light with a linear profile (GIMP's 32-bit float export):
    Pillow cannot open such a TIFF, so its profile went unread and the photo came out as if its
    linear numbers were sRGB's: mid-grey at 56 for 128, the whole photo far too dark."""
    from deepphoto.colour_profile import png_chunk_profile

    srgb = np.linspace(0, 1, 64, dtype=np.float32)[None, :, None].repeat(8, 0).repeat(3, 2)
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4).astype(np.float32)
    path = tmp_path / "linear.tif"
    path.write_bytes(deep_tiff(linear, png_chunk_profile(1.0, None, False)))
    got = read_image_alpha(path)[0].astype(int)
    want = (srgb * 255).round().astype(int)
    assert np.abs(got[:, 16:] - want[:, 16:]).max() <= 4  # all but the deepest shadows, quantised in 8 bits
    assert got[4, 32, 1] > 120  # mid-grey, not 56


def test_a_png_whose_profile_unpacks_past_a_megabyte_is_converted(tmp_path):
    """A calibrated display's LUT profile runs to megabytes, and a screenshot embeds it: Pillow
    refuses to open a PNG whose iCCP chunk unpacks past 1 MB, so the profile went unread and the
    colours unconverted (here a linear profile: mid-grey 128 left at 128, shown as 188)."""
    from deepphoto.colour_profile import png_chunk_profile

    img = np.full((16, 16, 3), 128, np.uint8)
    small = png_chunk_profile(1.0, None, False)
    big = bytearray(small + bytes(2_000_000))
    big[:4] = struct.pack(">I", len(big))  # the profile's own size field
    got = {}
    for name, profile in (("small", small), ("big", bytes(big))):
        path = tmp_path / f"{name}.png"
        path.write_bytes(_png(img, [(b"iCCP", b"display\0\0" + zlib.compress(profile, 9))]))
        got[name] = read_image_alpha(path)[0]
    assert got["small"][0, 0, 0] > 180
    assert np.array_equal(got["big"], got["small"])


def test_a_png_whose_exif_chunk_starts_as_a_jpegs_is_read_alike_with_or_without_alpha(tmp_path, capfd):
    """An eXIf chunk that starts with JPEG's 'Exif\\0\\0' (some writers put it there) libpng ignores,
    writing 'libpng warning: eXIf: invalid' twice on stderr: the photo was read as stored without
    alpha, but turned on its side by the orientation in it with alpha (read by DeepPhoto itself)."""
    img = _photo()
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees clockwise
    prefixed = exif.tobytes()
    assert prefixed.startswith(b"Exif\0\0")
    shapes = []
    for name, picture in (("plain", img), ("alpha", np.dstack([img, np.full(img.shape[:2], 200, np.uint8)]))):
        path = tmp_path / f"{name}.png"
        path.write_bytes(_png(picture, [(b"eXIf", prefixed)]))
        got, alpha = read_image_alpha(path)
        shapes.append(got.shape)
        assert (alpha is None) == (name == "plain")
    assert shapes == [img.shape, img.shape]
    assert "libpng" not in capfd.readouterr().err
