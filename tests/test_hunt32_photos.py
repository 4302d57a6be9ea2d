"""Hunt 32 (photos): still images as `deepphoto edit` and the Studio read them: deep (16-bit and
float) pictures through their colour profile, BigTIFF, animations with a profile."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import deep_tiff
from PIL import Image

from deepphoto.colour_profile import png_chunk_profile
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import check_photo, more_than_one, read_image_alpha


def _srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light (0-1) -> sRGB codes (0-255, float)."""
    linear = np.clip(linear, 0, 1)
    return 255 * np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def _with_chunks(data: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG's bytes with ``chunks`` (type, data) placed after its header."""
    extra = b"".join(struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks)
    return data[:33] + extra + data[33:]  # signature (8) + IHDR (25)


LINEAR_GAMA = (b"gAMA", struct.pack(">I", 100000))  # a PNG in linear light (gamma 1.0)


def _dark_ramp(width: int = 512) -> np.ndarray:
    """The darkest 5% of linear light, left to right (float, 0 to 0.05), 8 rows."""
    return np.linspace(0, 0.05, width)[None, :].repeat(8, 0)


def _smooth(got: np.ndarray, linear: np.ndarray) -> None:
    """``got`` (one channel of a read ramp) is the ramp's sRGB within a level, in as many levels as
    it spans and no steps of more than two."""
    want = _srgb(linear)
    assert np.abs(got.astype(float) - want).max() <= 1.2
    assert len(np.unique(got)) >= 0.9 * (want.max() - want.min())
    assert np.diff(got.astype(int)).min() >= 0 and np.diff(got.astype(int)).max() <= 2


@pytest.mark.parametrize("depth", ["float32", "uint16"])
def test_a_deep_tiff_with_a_linear_profile_keeps_its_shadows_smooth(tmp_path, depth):
    """A 32-bit float or 16-bit TIFF in linear light with its profile (a raw converter's, GIMP's
    32-bit export) was cut to 8 bits before its profile was applied: its darkest 5% came out in
    14 bands (0, 13, 22, 28, ...: sky and shadows posterised) instead of a smooth ramp of 63
    levels, and off by up to 6.5 levels."""
    linear = _dark_ramp()
    stored = linear.astype(np.float32) if depth == "float32" else (linear * 65535).round().astype(np.uint16)
    path = tmp_path / "dark.tif"
    path.write_bytes(deep_tiff(np.dstack([stored] * 3), png_chunk_profile(1.0, None, False)))
    got = read_image_alpha(path)[0]
    assert np.array_equal(got[..., 0], got[..., 2])
    _smooth(got[0, :, 1], linear[0])


def test_a_random_float_tiff_is_converted_within_a_level(tmp_path):
    """Colours of every kind, not a grey ramp alone: each within a level of its exact sRGB."""
    rng = np.random.default_rng(32)
    linear = rng.random((32, 48, 3), dtype=np.float32)
    linear[:16] *= 0.05
    path = tmp_path / "random.tif"
    path.write_bytes(deep_tiff(linear, png_chunk_profile(1.0, None, False)))
    got = read_image_alpha(path)[0][..., ::-1].astype(float)
    assert np.abs(got - _srgb(linear)).max() <= 1.2


@pytest.mark.parametrize("kind", ["grey", "colour", "colour+alpha"])
def test_a_sixteen_bit_linear_png_keeps_its_shadows_smooth(tmp_path, kind):
    """A 16-bit PNG whose gAMA chunk says linear light: its shadows were banded alike, grey
    (through the grey table) or colour, with or without an alpha channel."""
    linear = _dark_ramp()
    stored = (linear * 65535).round().astype(np.uint16)
    picture = {"grey": stored, "colour": np.dstack([stored] * 3)}.get(kind)
    if picture is None:
        picture = np.dstack([stored] * 3 + [np.full_like(stored, 65535)])
        picture[:, :4, 3] = 0  # a clear corner: an alpha channel the reader keeps
    path = tmp_path / "dark.png"
    path.write_bytes(_with_chunks(cv2.imencode(".png", picture)[1].tobytes(), [LINEAR_GAMA]))
    got, alpha = read_image_alpha(path)
    assert (alpha is not None) == (kind == "colour+alpha")
    assert (got[0, :4] == 255).all() if alpha is not None else True
    _smooth(got[0, 4:, 1], linear[0, 4:])


def test_a_sixteen_bit_photo_without_a_profile_reads_as_before(tmp_path):
    """Nothing changes for a deep photo that embeds no profile: its top 8 bits, as ever."""
    rng = np.random.default_rng(3)
    picture = rng.integers(0, 65536, (16, 24, 3), dtype=np.uint16)
    path = tmp_path / "plain.png"
    path.write_bytes(cv2.imencode(".png", picture)[1].tobytes())
    assert np.array_equal(read_image_alpha(path)[0], (picture >> 8).astype(np.uint8))


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


# ------------------------------------------------------------ animations with a profile


def test_an_animation_with_a_profile_builds_its_colour_transform_once(tmp_path, monkeypatch):
    """An animated WebP with a Display P3 profile built its colour transform again for every frame
    (9 times slower than converting the frames: a long animation's reading was mostly that); once
    now, for all its frames, which come out as before."""
    import sys

    from PIL import ImageCms

    import deepphoto.colour_profile as colour_profile
    from deepphoto.stream.sources import AnimatedImage

    sys.path.insert(0, str(Path(__file__).parent))
    from test_colour_profile import P3, viewer

    rng = np.random.default_rng(32)
    pictures = [Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)) for _ in range(12)]
    path = tmp_path / "anim.webp"
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=40, lossless=True, icc_profile=P3)
    built = []
    build = ImageCms.buildTransform
    monkeypatch.setattr(ImageCms, "buildTransform", lambda *a, **k: built.append(1) or build(*a, **k))
    for cached in ("_conversion", "_keeps_srgb"):  # built afresh here, whatever other tests built
        if hasattr(colour_profile, cached):
            getattr(colour_profile, cached).cache_clear()
    got = [frame.image for frame in AnimatedImage(path)]
    assert len(got) == 12 and len(built) <= 2  # the probe of whether it is sRGB's, and the transform
    assert np.abs(got[0][..., ::-1].astype(int) - viewer(path)).max() <= 1
    single = tmp_path / "one.webp"
    pictures[11].save(single, lossless=True, icc_profile=P3)
    assert np.abs(got[11][..., ::-1].astype(int) - viewer(single)).max() <= 1


def test_a_sixteen_bit_linear_png_uploaded_to_the_studio_keeps_its_shadows_smooth():
    """The Studio decoded an upload to 8 bits (OpenCV's colour flag) before its profile was applied:
    the same banding as `edit` had."""
    from deepphoto.web.limits import UploadLimits, decode_upload

    linear = _dark_ramp()
    stored = (linear * 65535).round().astype(np.uint16)
    data = _with_chunks(cv2.imencode(".png", np.dstack([stored] * 3))[1].tobytes(), [LINEAR_GAMA])
    got = decode_upload(data, UploadLimits())[0]
    _smooth(got[0, :, 1], linear[0])


# ------------------------------------------------------------ TIFFs whose first directory is no picture


def _tiff_of_pages(pages: list[tuple[np.ndarray, int]]) -> bytes:
    """A little-endian TIFF of uncompressed RGB ``pages``: (HxWx3 uint8, NewSubfileType), in order."""
    out = bytearray(b"II*\x00" + bytes(4))
    link = 4  # where the offset of the next directory goes
    for rgb, kind in pages:
        h, w = rgb.shape[:2]
        pixels_at = len(out)
        out += rgb.tobytes() + bytes(len(out) % 2)
        bits_at = len(out)
        out += struct.pack("<3H", 8, 8, 8)
        entries = [
            (254, 4, 1, kind),
            (256, 4, 1, w),
            (257, 4, 1, h),
            (258, 3, 3, bits_at),
            (259, 3, 1, 1),
            (262, 3, 1, 2),
            (273, 4, 1, pixels_at),
            (277, 3, 1, 3),
            (278, 4, 1, h),
            (279, 4, 1, rgb.size),
        ]
        out[link : link + 4] = struct.pack("<I", len(out))
        out += struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
        link = len(out)
        out += bytes(4)
    return bytes(out)


def test_a_tiff_with_a_thumbnail_first_is_read_at_full_size(tmp_path):
    """A TIFF whose first directory is a reduced-resolution copy (NewSubfileType 1: a scanner's or
    an old camera's thumbnail) was read as that thumbnail: a 128x96 photo came out 32x24, painted
    and written without a word. Its picture is read, and its size is the one checked."""
    rng = np.random.default_rng(32)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), (9, 9), 0)
    path = tmp_path / "scan.tif"
    path.write_bytes(_tiff_of_pages([(cv2.resize(photo, (32, 24)), 1), (photo, 0)]))
    image, alpha = read_image_alpha(path, warn=lambda message: pytest.fail(message))
    assert alpha is None and np.array_equal(image, photo[..., ::-1])

    from deepphoto.image_header import image_size

    huge = _tiff_of_pages([(photo[:4, :4], 1), (photo, 0)])
    at = huge.rindex(struct.pack("<HHI", 256, 4, 1))  # the picture's width and height
    huge = huge[:at] + struct.pack("<HHIIHHII", 256, 4, 1, 20000, 257, 4, 1, 20000) + huge[at + 24 :]
    assert image_size(huge) == ("TIFF", 20000, 20000)


def _dng(preview: np.ndarray) -> bytes:
    """A raw camera photo as DNG writes it: a first directory of a small RGB ``preview``, marked a
    reduced copy, with a DNGVersion tag and the raw picture (a colour filter array) in a SubIFD."""
    h, w = preview.shape[:2]
    raw = np.zeros((48, 64), "<u2").tobytes()
    ifd0 = [(254, 4, 1, 1), (256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, 0), (259, 3, 1, 1), (262, 3, 1, 2)]
    ifd0 += [(273, 4, 1, 0), (277, 3, 1, 3), (279, 4, 1, preview.size), (330, 4, 1, 0), (50706, 1, 4, 0x401)]
    sub = [(254, 4, 1, 0), (256, 4, 1, 64), (257, 4, 1, 48), (258, 3, 1, 16), (259, 3, 1, 1), (262, 3, 1, 32803)]
    sub += [(273, 4, 1, 0), (277, 3, 1, 1), (279, 4, 1, len(raw))]
    bits_at = 8 + 2 + 12 * len(ifd0) + 4
    sub_at = bits_at + 6
    preview_at = sub_at + 2 + 12 * len(sub) + 4
    raw_at = preview_at + preview.size
    where = {(0, 258): bits_at, (0, 273): preview_at, (0, 330): sub_at, (1, 273): raw_at}

    def directory(n: int, entries: list[tuple[int, int, int, int]]) -> bytes:
        packed = [struct.pack("<HHII", t, k, c, where.get((n, t), v)) for t, k, c, v in entries]
        return struct.pack("<H", len(entries)) + b"".join(packed) + bytes(4)

    head = b"II*\x00" + struct.pack("<I", 8)
    return head + directory(0, ifd0) + struct.pack("<3H", 8, 8, 8) + directory(1, sub) + preview.tobytes() + raw


def test_a_raw_dng_photo_is_refused_by_name(tmp_path):
    """A DNG (an iPhone's ProRAW, an Android phone's or a camera's raw photo) opens as a TIFF: its
    small preview (256 pixels wide) was painted and written as the photo, without a word."""
    path = tmp_path / "IMG_0001.DNG"
    path.write_bytes(_dng(np.full((171, 256, 3), 90, np.uint8)))
    for read in (read_image_alpha, check_photo):
        with pytest.raises(DeepPhotoError, match=r"a raw camera photo \(DNG\), which DeepPhoto does not read"):
            read(path)


# ------------------------------------------------------------ files cut off that no decoder reads


@pytest.mark.parametrize("kind", ["WEBP", "AVIF", "GIF"])
def test_a_cut_off_file_that_cannot_be_read_is_said_to_end_early(tmp_path, kind):
    """A WebP, AVIF or GIF download cut off in half was 'not a readable image', as if DeepPhoto did
    not read the kind (a JPEG or PNG cut off is read as far as it goes; these decoders read none of
    one): it says the file ends early, by how much where its header tells, in edit and the Studio."""
    from deepphoto.web.errors import WebError
    from deepphoto.web.limits import UploadLimits, decode_upload

    rng = np.random.default_rng(32)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, kind)
    whole = buf.getvalue()
    path = tmp_path / f"cut.{kind.lower()}"
    path.write_bytes(whole[: len(whole) // 2])
    size = f": {len(whole) // 2:,} of {len(whole):,} bytes" if kind != "GIF" else ""
    with pytest.raises(DeepPhotoError, match=rf"not a readable image: the file ends early \(cut off{size}\)"):
        read_image_alpha(path)
    if kind != "GIF":  # the page takes no GIF
        with pytest.raises(WebError, match=rf"the file ends early \(cut off{size}\)"):
            decode_upload(whole[: len(whole) // 2], UploadLimits())


# ------------------------------------------------------------ linear-light pictures


@pytest.mark.parametrize("suffix", [".hdr", ".pfm"])
def test_a_high_dynamic_range_picture_is_read_from_linear_light(tmp_path, suffix):
    """A Radiance HDR (an HDR panorama) or PFM file holds linear light; `edit` read its numbers as
    if they were sRGB's: the photo came out far too dark (mean 56 for 124), painted without a word."""
    rng = np.random.default_rng(32)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (9, 9), 0)
    codes = photo.astype(np.float32) / 255
    linear = np.where(codes <= 0.04045, codes / 12.92, ((codes + 0.055) / 1.055) ** 2.4).astype(np.float32)
    path = tmp_path / f"scene{suffix}"
    assert cv2.imwrite(str(path), linear)
    got = read_image_alpha(path)[0].astype(int)
    assert np.abs(got - photo).max() <= (4 if suffix == ".hdr" else 1)  # RGBE keeps 8 bits of mantissa
