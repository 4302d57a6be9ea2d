"""A photo's embedded colour profile (ICC) applied: its colours converted into sRGB when it is read.

OpenCV decodes the stored numbers and drops the profile, and every output is written untagged,
which viewers show as sRGB: an iPhone's Display P3 photo, an Adobe RGB one or a grey scan with its
own curve came out with shifted colours even where nothing was painted (a saturated red by 14 to
18 Delta-E). Converting at read time keeps the unpainted parts as the photo showed them and gives
the networks the sRGB they were trained on. LittleCMS does the conversion, through Pillow's ImageCms.
CMYK profiles are left alone (OpenCV has already turned CMYK into RGB without one). A PNG may
describe its colours by gAMA (and cHRM) chunks instead of a profile, as viewers honour too: a
profile is made from them (see ``png_chunk_profile``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import threading
import warnings
import zlib
from collections import OrderedDict
from collections.abc import Callable
from types import ModuleType
from typing import Any, Generic, TypeVar

import numpy as np

BAND = 512  # rows converted at a time: a photo of tens of megapixels takes little memory beside it
DEEP_BAND = 1 << 18  # pixels of a 16-bit or float picture converted at a time (a dozen float copies of them)
GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F")  # Pillow's one-channel pictures
# Pillow's own size guard refuses files above twice this; DeepPhoto reads photos up to
# frames.MAX_PHOTO_PIXELS, checked by their header before decoding.
PILLOW_PIXELS = 400_000_000
# Pillow's warnings on odd files are not the user's business: one filter, set once (a filter set
# and taken back around each call, as warnings.catch_warnings does, is not safe across threads).
warnings.filterwarnings("ignore", module=r"PIL(\.|$)")


def pillow() -> ModuleType:
    """Pillow's Image module, its size guard set to DeepPhoto's own limit (see PILLOW_PIXELS)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, PILLOW_PIXELS)
    return Image


def embedded_profile(data: np.ndarray | bytes) -> bytes | None:
    """The ICC profile embedded in an image file's bytes (JPEG, PNG, WebP, TIFF, AVIF), or None; None
    too for a profile of another kind than the picture (grey for colour, colour for grey). A PNG
    without a profile or sRGB chunk: one made from its gAMA and cHRM chunks (``png_chunk_profile``).
    Reads headers only (Pillow opens lazily); any file Pillow cannot open has none."""
    try:
        with pillow().open(io.BytesIO(bytes(data))) as image:
            info, grey = image.info, image.mode in GREY_MODES
            profile = info.get("icc_profile")
            if not profile and image.format == "PNG" and "srgb" not in info:
                profile = png_chunk_profile(info.get("gamma"), info.get("chromaticity"), grey)
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for files it does not know
        profile, grey = _raw_profile(data)
    if not profile or len(profile) < 20 or (profile[16:20] == b"GRAY") != grey:
        return None  # a grey profile on a colour picture, or the other way round: viewers ignore it too
    return profile


# The largest embedded profile read from a file Pillow cannot open (a display's LUT profile runs
# to a few megabytes; a PNG's iCCP chunk is packed, and may unpack to far more: a bomb).
MAX_PROFILE = 64 << 20


def _raw_profile(data: np.ndarray | bytes) -> tuple[bytes | None, bool]:
    """The embedded profile of a TIFF or PNG that Pillow cannot open, read from the file itself, and
    whether its picture is grey; (None, False) for any other file. A TIFF of 32-bit float RGB samples
    (GIMP's or Photoshop's 32-bit export, linear light with a linear profile) came out far too dark
    (mid-grey 56 for 128); a PNG whose profile unpacks past 1 MB (a calibrated display's LUT
    profile, as a screenshot embeds it) Pillow refuses to open, and its colours went unconverted."""
    from deepphoto.image_header import TIFF_MAGIC, tiff_data, tiff_tag

    view = memoryview(data)  # not copied
    head = bytes(view[:8])
    if head[:4] in TIFF_MAGIC:
        return tiff_data(view, 34675), tiff_tag(view, 0, 262) in (0, 1)  # PhotometricInterpretation: grey
    if head == b"\x89PNG\r\n\x1a\n":
        return _png_profile(view), len(view) > 25 and view[25] in (0, 4)  # IHDR's colour type: grey
    return None, False


def _png_profile(view: memoryview) -> bytes | None:
    """A PNG's profile (its iCCP chunk before the picture, unpacked up to MAX_PROFILE), or None."""
    from deepphoto.image_header import png_chunk

    body = png_chunk(view, b"iCCP")  # name, 0, method 0, packed profile
    if body is None:
        return None
    name = body.find(b"\0")
    if name < 0 or body[name + 1 : name + 2] != b"\0":
        return None
    unpack = zlib.decompressobj()
    try:
        profile = unpack.decompress(body[name + 2 :], MAX_PROFILE)
    except zlib.error:
        return None
    return None if unpack.unconsumed_tail else profile


# A PNG's gAMA within this share of sRGB's 1/2.2 is sRGB's (Chromium's test), as are chromaticities
# within CHROMATICITY_SLACK of sRGB's: such a PNG (ImageMagick writes gAMA and cHRM of sRGB) is read
# as stored, not through a pure power curve that would darken its deepest shadows by a few levels.
NEUTRAL_GAMMA = 0.05
SRGB_CHROMATICITY = (0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06)  # white, red, green, blue (x, y)
CHROMATICITY_SLACK = 0.005
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
_D50 = np.array([0.9642, 1.0, 0.8249])


def png_chunk_profile(gamma: float | None, chromaticity: tuple | None, grey: bool) -> bytes | None:
    """An ICC profile for a PNG that describes its colours by a gAMA chunk (``gamma``: the file's
    encoding exponent, 1/2.2 for sRGB-like) and a cHRM chunk (``chromaticity``: white, red, green,
    blue as x, y), as Chromium, Firefox and Safari show it: a pure power curve of 1/``gamma``; sRGB's
    primaries without cHRM (a cHRM without gAMA is not used). None where they say sRGB or nothing
    usable. Read as stored, an old Mac PNG (gAMA 1/1.8) came out 14 levels darker than viewers show
    it, a linear one (gAMA 1.0) 60, and colours of wider primaries (Adobe RGB's) off by up to 90."""
    if not gamma or not 0.01 <= gamma <= 100:
        return None
    near_srgb = abs(gamma * 2.2 - 1) < NEUTRAL_GAMMA
    if chromaticity is None:
        chromaticity = SRGB_CHROMATICITY
    elif len(chromaticity) != 8:
        return None
    if near_srgb and (grey or max(abs(a - b) for a, b in zip(chromaticity, SRGB_CHROMATICITY)) < CHROMATICITY_SLACK):
        return None
    curve = b"para" + bytes(4) + struct.pack(">H", 0) + bytes(2) + _s15(1 / gamma)
    if grey:
        return _icc_profile(b"GRAY", [(b"kTRC", curve)])
    wx, wy, rx, ry, gx, gy, bx, by = (float(v) for v in chromaticity)
    try:
        xyz = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in ((rx, ry), (gx, gy), (bx, by), (wx, wy))]).T
        primaries = xyz[:, :3] * np.linalg.solve(xyz[:, :3], xyz[:, 3])  # RGB -> XYZ, white at Y = 1
        adapt = np.linalg.inv(_BRADFORD) @ np.diag((_BRADFORD @ _D50) / (_BRADFORD @ xyz[:, 3])) @ _BRADFORD
    except (ZeroDivisionError, np.linalg.LinAlgError):
        return None
    d50 = adapt @ primaries  # ICC profiles are relative to D50
    if not np.isfinite(d50).all() or np.abs(d50).max() > 10:
        return None  # chromaticities that describe no display: viewers ignore them too
    tags = [
        (tag, b"XYZ " + bytes(4) + b"".join(_s15(v) for v in d50[:, i]))
        for i, tag in enumerate((b"rXYZ", b"gXYZ", b"bXYZ"))
    ]
    return _icc_profile(b"RGB ", tags + [(t, curve) for t in (b"rTRC", b"gTRC", b"bTRC")])


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _icc_profile(space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """A version 2 display profile of colour ``space`` with ``tags`` besides its description and
    D50 white point."""
    text = b"PNG gAMA and cHRM\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(78)
    white = b"XYZ " + bytes(4) + b"".join(_s15(v) for v in _D50)
    tags = [(b"desc", desc), (b"wtpt", white), *tags]
    offset, table, body = 128 + 4 + 12 * len(tags), b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    header = (
        struct.pack(">I", offset + len(body)) + bytes(4) + bytes([2, 0x10, 0, 0]) + b"mntr" + space + b"XYZ "
        + bytes(12) + b"acsp" + bytes(24) + bytes(4) + b"".join(_s15(v) for v in _D50) + bytes(48)
    )  # fmt: skip
    return header + struct.pack(">I", len(tags)) + table + body


_T = TypeVar("_T")


class _ByProfile(Generic[_T]):
    """``judge(profile)`` remembered for the last ``size`` profiles, each kept by a digest of its
    bytes, not the bytes: functools.lru_cache kept each profile whole as its key, and a profile runs
    to megabytes (a display's LUT profile; up to 64 MB unpacked from a PNG), so a Studio serving for
    days held the last two dozen uploads' profiles (hundreds of MB) for ever. Safe across threads:
    two that build one profile's at once both build it, one is kept."""

    def __init__(self, judge: Callable[[bytes], _T], size: int) -> None:
        self._judge, self._size = judge, size
        self._kept: OrderedDict[bytes, _T] = OrderedDict()
        self._lock = threading.Lock()
        functools.update_wrapper(self, judge)

    def __call__(self, profile: bytes) -> _T:
        key = hashlib.blake2b(profile, digest_size=20).digest()
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        found = self._judge(profile)
        with self._lock:
            self._kept[key] = found
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return found

    def cache_clear(self) -> None:
        with self._lock:
            self._kept.clear()


def _by_profile(size: int) -> Callable[[Callable[[bytes], _T]], _ByProfile[_T]]:
    return lambda judge: _ByProfile(judge, size)


# Levels a profile named sRGB may move a probe of colours and still be taken for sRGB's own (LittleCMS
# rounds); a linear one (GIMP's "Linear sRGB") moves mid-grey by 60.
SRGB_SLACK = 4


@_by_profile(16)
def _keeps_srgb(profile: bytes) -> bool:
    """Whether the RGB ``profile`` keeps a probe of 729 colours within SRGB_SLACK of themselves
    (sRGB's own), judged once a profile: a folder of photos, or an animation's frames, share one,
    and the probe's transform took 7 ms a picture."""
    from PIL import Image, ImageCms

    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    srgb = ImageCms.createProfile("sRGB")
    transform = ImageCms.buildTransform(source, srgb, "RGB", "RGB", ImageCms.Intent.PERCEPTUAL)
    probe = np.stack(np.meshgrid(*[np.linspace(0, 255, 9).round()] * 3), -1).reshape(1, -1, 3)
    picture = Image.fromarray(probe.astype(np.uint8), "RGB")
    converted = np.asarray(ImageCms.applyTransform(picture, transform)).astype(int)
    return bool(np.abs(converted - probe).max() <= SRGB_SLACK)


@_by_profile(8)
def _conversion(profile: bytes) -> tuple[str, Any] | None:
    """How a picture that embeds ``profile`` is brought into sRGB: ("L", a 256x3 BGR uint8 table of
    its grey levels) or ("RGB", a LittleCMS transform); None where it is read as stored (sRGB's
    own profile, CMYK, unreadable). Built once a profile: an animation's frames share one, and
    building a transform for each frame took longer than converting the frame."""
    try:
        from PIL import Image, ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        space = source.profile.xcolor_space.strip()
        if space not in ("RGB", "GRAY"):
            return None
        named_srgb = "srgb" in ImageCms.getProfileDescription(source).lower()
        mode = "RGB" if space == "RGB" else "L"
        if named_srgb and mode == "RGB" and _keeps_srgb(profile):
            return None  # sRGB's own (v2 or v4, a camera's copy): the colours as stored, exactly
        srgb = ImageCms.createProfile("sRGB")
        # grey: its 256 levels converted exactly, once, into a table (LittleCMS's optimised 8-bit
        # grey transform lost the deepest shadows: a linear grey's level 4 came out 25, not 34)
        flags = ImageCms.Flags.NOOPTIMIZE if mode == "L" else ImageCms.Flags.NONE
        transform = ImageCms.buildTransform(source, srgb, mode, "RGB", ImageCms.Intent.PERCEPTUAL, flags=flags)
        if mode == "RGB":
            return mode, transform
        ramp = Image.fromarray(np.arange(256, dtype=np.uint8)[None], "L")
        table = np.ascontiguousarray(np.asarray(ImageCms.applyTransform(ramp, transform))[0, :, ::-1])
        if named_srgb and np.abs(table.astype(int) - np.arange(256)[:, None]).max() <= SRGB_SLACK:
            return None  # sRGB's own curve, in grey
        return mode, table
    except Exception:  # noqa: BLE001 - a damaged or unusual profile: the colours as stored
        return None


def _apply(transform: Any, rgb: np.ndarray) -> np.ndarray:
    """The LittleCMS RGB ``transform`` applied to ``rgb`` (uint8, HxWx3): RGB uint8."""
    from PIL import Image, ImageCms

    return np.asarray(ImageCms.applyTransform(Image.fromarray(np.ascontiguousarray(rgb)), transform))


def to_srgb(bgr: np.ndarray, profile: bytes | None) -> np.ndarray:
    """``bgr`` (HxWx3 uint8, as decoded from a file whose embedded profile is ``profile``) with its
    colours converted into sRGB, in place where it can be; itself when there is no profile, the
    profile is sRGB's, CMYK or unreadable. A profile named sRGB is sRGB's only where it keeps a
    probe of colours within SRGB_SLACK: GIMP's 'Linear sRGB' (a linear-light picture's) is not.
    A deeper picture (uint16, or float from 0 to 1; HxW, HxWx1 or HxWx3) is converted from its own
    numbers into a new BGR uint8 one (see ``_deep_to_srgb``); itself where nothing is converted."""
    conversion = _conversion(profile) if profile else None
    if conversion is None:
        return bgr
    mode, how = conversion
    if bgr.dtype != np.uint8:
        return _deep_to_srgb(bgr, mode, how)
    out = bgr if bgr.flags.writeable else bgr.copy()
    for top in range(0, out.shape[0], BAND):
        rows = out[top : top + BAND]
        rows[:] = how[rows[..., 0]] if mode == "L" else _apply(how, rows[..., ::-1])[..., ::-1]
    return out


def _deep_to_srgb(image: np.ndarray, mode: str, how: Any) -> np.ndarray:
    """A 16-bit or float picture converted into sRGB BGR uint8 at its own precision: LittleCMS (as
    Pillow offers it) converts 8-bit colours alone, and a picture cut to 8 bits first lost its
    shadows through a steep curve (a linear-light float TIFF's darkest 5% came out in 14 bands, 0,
    13, 22, ... instead of a smooth ramp of 60 levels). Each colour is converted at the corners of
    the cube of 8-bit levels round it that bound its tetrahedron, blended by where it lies in it (a
    grey's table linearly): four conversions of the picture where one was. The corners are told
    and blended by elementwise maxima and minima of the three steps (no sorting), in bands that
    stay in the processor's cache: a 12-megapixel 16-bit photo took 3.0 s, 1.6 s now."""
    h, w = image.shape[:2]
    if image.ndim == 2:
        image = image[..., None]
    out = np.empty((h, w, 3), np.uint8)
    whole = image.dtype.kind == "u"  # uint16, or float from 0 to 1
    scale = np.float32(255 / 65535 if whole else 255)
    band = max(1, DEEP_BAND // w)
    for top in range(0, h, band):
        source = image[top : top + band, :, ::-1]  # RGB
        if mode == "L":
            source = source[..., :1]
        rows = np.multiply(source, scale, dtype=np.float32)
        if not whole:
            np.nan_to_num(rows, copy=False)
        np.clip(rows, 0, 255, out=rows)
        if mode == "RGB" and rows.shape[2] == 1:
            rows = np.repeat(rows, 3, axis=2)
        low = np.minimum(rows, 254).astype(np.uint8)  # a level and the next, 255 reached by a full step
        step = np.subtract(rows, low, out=rows)
        if mode == "L":
            lo, hi = how[low[..., 0]].astype(np.float32), how[low[..., 0] + 1]
            out[top : top + band] = (lo + (hi - lo) * step + 0.5).astype(np.uint8)
            continue
        r, g, b = step[..., 0], step[..., 1], step[..., 2]
        f1 = np.maximum(np.maximum(r, g), b)[..., None]  # the steps from the largest to the smallest
        f3 = np.minimum(np.minimum(r, g), b)[..., None]
        f2 = (r + g + b)[..., None] - f1 - f3
        # low, low + the farthest channel, low + all but the nearest, low + 1: where steps tie, the
        # corner that is not the tetrahedron's has no weight (f1 - f2 or f2 - f3 is 0)
        t0, t1 = _apply(how, low), _apply(how, low + np.uint8(1))
        t2, t3 = _apply(how, low + (step >= f1)), _apply(how, low + (step > f3))
        total = t0 + np.float32(0.5) + f1 * (t2.astype(np.float32) - t0)
        total += f2 * (t3.astype(np.float32) - t2)
        total += f3 * (t1.astype(np.float32) - t3)
        out[top : top + band] = total[..., ::-1].astype(np.uint8)
    return out
