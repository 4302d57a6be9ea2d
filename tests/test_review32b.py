"""Review 32b: hunt 32's photo commits (BigTIFF, deep photos through their profile, TIFFs with a
thumbnail first and DNG, files cut off, HDR/PFM) as edit, batch and the Studio meet them."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from media import deep_tiff

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


@pytest.mark.parametrize("depth", ["uint16", "float32"])
@pytest.mark.parametrize("extra_samples", [1, 2])
def test_a_deep_tiffs_associated_alpha_is_laid_on_white_as_premultiplied(tmp_path, depth, extra_samples):
    """A 16-bit or float TIFF with associated alpha (ExtraSamples 1: its colours already multiplied
    by alpha) was laid on white as if they were not: a half-clear white edge came out grey (191 for
    255), every soft edge of a cut-out darkened. Unassociated alpha (2) is laid on as before."""
    full = 65535 if depth == "uint16" else 1.0
    a = np.linspace(0, 1, 32, dtype=np.float32)[None, :].repeat(4, 0)  # clear to opaque
    straight = np.float32(0.8)  # a light grey, its own colour
    colour = straight * a if extra_samples == 1 else np.full_like(a, straight)
    rgba = np.dstack([colour] * 3 + [a]) * np.float32(full)
    rgba = (rgba + 0.5).astype(np.uint16) if depth == "uint16" else rgba
    path = tmp_path / "cutout.tif"
    path.write_bytes(deep_tiff(rgba, extra_samples=extra_samples))
    image, alpha = frames.read_image_alpha(path)
    assert alpha is not None
    want = 255 * (straight * a + (1 - a))  # the colour over white
    assert np.abs(image.astype(float) - want[..., None]).max() <= 1.01


def test_a_huge_hdr_panorama_is_refused_by_its_header(tmp_path, monkeypatch):
    """A Radiance HDR's or PFM's size was not read from its header: a 24576x12288 HDR panorama (302
    megapixels, 3.6 GB as floats) was decoded whole before edit refused it as too large."""
    path = tmp_path / "pano.hdr"
    path.write_bytes(b"#?RADIANCE\n# made by a stitcher\nFORMAT=32-bit_rle_rgbe\n\n-Y 12288 +X 24576\n" + bytes(64))
    pfm = tmp_path / "render.pfm"
    pfm.write_bytes(b"PF\n24576 12288\n-1.0\n" + bytes(64))
    _no_decoding(monkeypatch)
    for huge in (path, pfm):
        with pytest.raises(DeepPhotoError, match="24576x12288"):
            frames.check_photo_size(huge, frames.read_bytes(huge))
        with pytest.raises(DeepPhotoError, match="24576x12288"):
            frames.check_photo(huge)


def test_batch_takes_hdr_and_pfm_pictures_as_photos_and_checks_them_by_header(tmp_path, monkeypatch):
    """edit reads a Radiance HDR or PFM picture (from linear light since hunt 32), but batch's folder
    scan passed them over as neither photo nor video, a single one given was taken for a video, and
    its pre-check would have decoded each in the driver."""
    from deepphoto.batch.inputs import _folder_files, kind_of

    rng = np.random.default_rng(32)
    (tmp_path / "out").mkdir()
    for name in ("pano.hdr", "render.pfm"):
        assert cv2.imwrite(str(tmp_path / name), rng.random((30, 60, 3), dtype=np.float32))
    passed: list = []
    found = _folder_files(tmp_path, tmp_path / "out", passed_over=passed)
    assert [p.name for p in found] == ["pano.hdr", "render.pfm"] and not passed
    assert [kind_of(p) for p in found] == ["image", "image"]
    _no_decoding(monkeypatch)
    for p in found:
        frames.check_photo(p)


def test_the_colour_conversions_kept_do_not_keep_each_profile_whole():
    """The conversion of each of the last 8 profiles (and the sRGB probe of 16) was remembered with
    the profile's bytes as its key: a Studio serving for days held the last uploads' profiles, of up
    to tens of megabytes each (a display's LUT profile; a PNG's iCCP unpacks to 64 MB), for ever."""
    import gc
    import tracemalloc

    from deepphoto import colour_profile

    rng = np.random.default_rng(32)
    photo = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    colour_profile._conversion.cache_clear()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(8):
            profile = rng.bytes(4 << 20)  # no profile LittleCMS reads: its colours as stored, remembered
            assert np.array_equal(colour_profile.to_srgb(photo.copy(), profile), photo)
            del profile
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        colour_profile._conversion.cache_clear()
    assert held < 8 << 20  # 32 MB were held
