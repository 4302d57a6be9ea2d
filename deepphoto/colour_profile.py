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
from types import ModuleType

import numpy as np

BAND = 512  # rows converted at a time: a photo of tens of megapixels takes little memory beside it
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
    too for a profile of another kind than the picture (grey for colour, colour for grey). Reads
    headers only (Pillow opens lazily); any file Pillow cannot open has none."""
    try:
        with pillow().open(io.BytesIO(bytes(data))) as image:
            profile, grey = image.info.get("icc_profile"), image.mode in GREY_MODES
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for files it does not know
        return None
    if not profile or len(profile) < 20 or (profile[16:20] == b"GRAY") != grey:
        return None  # a grey profile on a colour picture, or the other way round: viewers ignore it too
    return profile


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
    out = bgr if bgr.flags.writeable else bgr.copy()
    for top in range(0, out.shape[0], BAND):
        rows = out[top : top + BAND]
        picture = Image.fromarray(np.ascontiguousarray(rows[..., ::-1] if mode == "RGB" else rows[..., 0]), mode)
        rows[:] = np.asarray(ImageCms.applyTransform(picture, transform))[..., ::-1]
    return out
