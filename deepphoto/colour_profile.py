"""A photo's embedded colour profile (ICC) applied: its colours converted into sRGB when it is read.

OpenCV decodes the stored numbers and drops the profile, and every output is written untagged,
which viewers show as sRGB: an iPhone's Display P3 photo, an Adobe RGB one or a grey scan with its
own curve came out with shifted colours even where nothing was painted (a saturated red by 14 to
18 Delta-E). Converting at read time keeps the unpainted parts as the photo showed them and gives
the networks the sRGB they were trained on. LittleCMS does the conversion, through Pillow's ImageCms.
CMYK profiles are left alone (OpenCV has already turned CMYK into RGB without one).
"""

from __future__ import annotations

import io
import warnings

import numpy as np

BAND = 512  # rows converted at a time: a photo of tens of megapixels takes little memory beside it


def embedded_profile(data: np.ndarray | bytes) -> bytes | None:
    """The ICC profile embedded in an image file's bytes (JPEG, PNG, WebP, TIFF, AVIF), or None.
    Reads headers only (Pillow opens lazily); any file Pillow cannot open has none."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - a dependency; without it photos are read as stored
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's warnings on large or odd files: not ours to print
            with Image.open(io.BytesIO(bytes(data))) as image:
                profile = image.info.get("icc_profile")
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for files it does not know
        return None
    return profile or None


def to_srgb(bgr: np.ndarray, profile: bytes | None) -> np.ndarray:
    """``bgr`` (uint8, HxWx3, as decoded from a file whose embedded profile is ``profile``) with its
    colours converted into sRGB, in place where it can be; itself when there is no profile, the
    profile is sRGB's, CMYK or unreadable."""
    if not profile:
        return bgr
    try:
        from PIL import Image, ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        space = source.profile.xcolor_space.strip()
        if space not in ("RGB", "GRAY") or "srgb" in ImageCms.getProfileDescription(source).lower():
            return bgr
        mode = "RGB" if space == "RGB" else "L"
        srgb = ImageCms.createProfile("sRGB")
        transform = ImageCms.buildTransform(source, srgb, mode, "RGB", ImageCms.Intent.PERCEPTUAL)
    except Exception:  # noqa: BLE001 - a damaged or unusual profile: the colours as stored
        return bgr
    out = np.empty_like(bgr)
    for top in range(0, bgr.shape[0], BAND):
        rows = bgr[top : top + BAND]
        picture = Image.fromarray(np.ascontiguousarray(rows[..., ::-1] if mode == "RGB" else rows[..., 0]), mode)
        out[top : top + BAND] = np.asarray(ImageCms.applyTransform(picture, transform))[..., ::-1]
    return out
