"""Photos with an embedded colour profile (Display P3 as iPhones write, Adobe RGB, a grey scan's own
curve) are read into sRGB, as a colour-managed viewer shows them: outputs are untagged, which viewers
show as sRGB, and the unpainted parts came out with shifted colours (a red 14-18 Delta-E off)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from deepphoto.colour_profile import embedded_profile, to_srgb
from deepphoto.commands.cli import main
from deepphoto.frames import read_image

# ------------------------------------------------------------ ICC profiles built here (matrix + curve)


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _desc(text: str) -> bytes:
    a = text.encode() + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(a)) + a + b"\0" * 8 + b"\0" * 3 + b"\0" * 67


def _gamma(g: float) -> bytes:
    return b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", round(g * 256)) + b"\0\0"


def _srgb_curve() -> bytes:
    params = [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045]
    return b"para" + b"\0" * 4 + struct.pack(">H", 3) + b"\0\0" + b"".join(_s15(v) for v in params)


def icc(name: str, tags: list[tuple[bytes, bytes]], space: bytes = b"RGB ") -> bytes:
    """A version 2 display profile with ``tags`` (besides description and D50 white)."""
    tags = [(b"desc", _desc(name)), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)), *tags]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (
        struct.pack(">I", offset + len(data)) + b"lcms" + bytes([2, 0x40, 0, 0]) + b"mntr" + space + b"XYZ "
        + b"\0" * 12 + b"acsp" + b"APPL" + b"\0" * 20 + b"\0" * 4 + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
        + b"\0" * 48
    )  # fmt: skip
    return header + struct.pack(">I", len(tags)) + table + data


def rgb_profile(name: str, r: tuple, g: tuple, b: tuple, curve: bytes) -> bytes:
    return icc(
        name,
        [(b"rXYZ", _xyz(*r)), (b"gXYZ", _xyz(*g)), (b"bXYZ", _xyz(*b))]
        + [(t, curve) for t in (b"rTRC", b"gTRC", b"bTRC")],
    )


P3 = rgb_profile(
    "Display P3", (0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841), _srgb_curve()
)
ADOBE = rgb_profile(
    "Adobe RGB (1998)", (0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446), _gamma(563 / 256)
)
GREY18 = icc("Gray Gamma 1.8", [(b"kTRC", _gamma(1.8))], space=b"GRAY")


def chart(h: int = 48, w: int = 64) -> np.ndarray:
    """Saturated patches and a grey ramp (RGB uint8): where colour spaces differ most."""
    patches = np.array([[220, 30, 30], [30, 200, 40], [40, 50, 220], [240, 220, 30], [200, 60, 200], [128, 128, 128]])
    img = np.repeat(patches, w // 6 + 1, axis=0)[:w][None].repeat(h, 0).astype(np.uint8)
    img[h // 2 :] = np.linspace(0, 255, w, dtype=np.uint8)[None, :, None]
    return img


def viewer(path: Path) -> np.ndarray:
    """What a colour-managed viewer shows (RGB): LittleCMS from the embedded profile into sRGB."""
    with Image.open(path) as im:
        im.load()
        profile = im.info.get("icc_profile")
        if profile:
            src = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            im = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
        return np.asarray(im.convert("RGB")).astype(int)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tiff"])
@pytest.mark.parametrize("profile", [P3, ADOBE], ids=["display-p3", "adobe-rgb"])
def test_a_photo_in_another_colour_space_is_read_as_a_viewer_shows_it(tmp_path, suffix, profile):
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(chart()).save(path, icc_profile=profile, **({"quality": 95} if suffix == ".jpg" else {}))
    got = read_image(path)[..., ::-1].astype(int)
    stored = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert np.abs(got - viewer(path)).max() <= 1
    assert np.abs(stored - viewer(path)).max() > 20  # the colours as stored would be far off


def test_a_grey_scan_with_its_own_curve(tmp_path):
    path = tmp_path / "scan.jpg"
    Image.fromarray(chart()[..., 0]).save(path, quality=95, icc_profile=GREY18)
    got = read_image(path)
    assert np.abs(got[..., ::-1].astype(int) - viewer(path)).max() <= 1
    stored = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert got[..., 0].astype(int).mean() > stored.mean() + 5  # sRGB's curve lifts what gamma 1.8 stored


def test_srgb_no_profile_and_damaged_profiles_are_read_as_stored(tmp_path):
    img = chart()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for name, profile in [("srgb", srgb), ("none", None), ("damaged", P3[:200]), ("junk", b"not a profile" * 20)]:
        path = tmp_path / f"{name}.png"
        Image.fromarray(img).save(path, **({"icc_profile": profile} if profile else {}))
        assert np.array_equal(read_image(path)[..., ::-1], img), name
    assert embedded_profile(b"not an image") is None
    bgr = img[..., ::-1].copy()
    assert to_srgb(bgr, None) is bgr and to_srgb(bgr, b"junk") is bgr


def test_a_profile_of_the_other_kind_is_ignored(tmp_path):
    """A grey profile on a colour photo made it grey (its blue channel), as no viewer shows it;
    an RGB profile on a grey picture is ignored likewise."""
    colour, grey = tmp_path / "colour.png", tmp_path / "grey.png"
    Image.fromarray(chart()).save(colour, icc_profile=GREY18)
    Image.fromarray(chart()[..., 0]).save(grey, icc_profile=P3)
    assert np.array_equal(read_image(colour)[..., ::-1], chart())
    assert np.array_equal(read_image(grey)[..., 0], chart()[..., 0])
    assert embedded_profile(colour.read_bytes()) is None and embedded_profile(grey.read_bytes()) is None


def test_pillows_warnings_stay_quiet_from_every_thread():
    """A filter set and taken back around each read (warnings.catch_warnings) left Python's
    warnings switched off for the whole process when two threads read at once."""
    import threading
    import warnings

    data = io.BytesIO()
    Image.fromarray(chart()).save(data, format="PNG", icc_profile=P3)
    before = list(warnings.filters)
    threads = [
        threading.Thread(target=lambda: [embedded_profile(data.getvalue()) for _ in range(300)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert warnings.filters == before


def test_large_photo_converted_in_bands_like_whole(tmp_path):
    rng = np.random.default_rng(1)
    img = cv2.resize(rng.integers(0, 256, (30, 20, 3), dtype=np.uint8), (300, 1300), interpolation=cv2.INTER_NEAREST)
    whole = to_srgb(img.copy(), P3)
    from deepphoto import colour_profile

    banded = colour_profile.BAND
    try:
        colour_profile.BAND = 97
        assert np.array_equal(to_srgb(img.copy(), P3), whole)
    finally:
        colour_profile.BAND = banded


def test_edit_keeps_the_unpainted_photo_as_it_was_shown(tmp_path):
    src, out = tmp_path / "iphone.jpg", tmp_path / "out.png"
    Image.fromarray(chart(96, 128)).save(src, quality=95, icc_profile=P3)
    assert main(["edit", str(src), str(out), "--style", "wave", "--region", "whole", "--strength", "0"]) == 0
    assert np.abs(viewer(out) - viewer(src)).max() <= 1


def test_data_set_images_are_read_in_srgb_too(tmp_path):
    """Training and evaluation read the same colours as painting does (a validation portrait of
    the shared data is Adobe RGB, and was read as stored)."""
    from deepphoto.datasets import read_image as read_data_image

    path = tmp_path / "portrait.jpg"
    Image.fromarray(chart()).save(path, quality=95, icc_profile=ADOBE)
    assert np.abs(read_data_image(path)[..., ::-1].astype(int) - viewer(path)).max() <= 1
