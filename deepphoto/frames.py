"""Frame conversions shared by every model: any image array in, what the networks expect out."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError, not_a_file


def to_bgr8(frame: np.ndarray) -> np.ndarray:
    """Greyscale, BGR, BGRA; uint8, uint16 or float in [0, 1] -> contiguous BGR uint8."""
    if frame.ndim == 2:
        frame = frame[..., None]
    if frame.ndim != 3 or frame.shape[2] not in (1, 3, 4) or frame.shape[0] < 1 or frame.shape[1] < 1:
        raise DeepPhotoError(f"unsupported frame shape {frame.shape}: expected HxW, HxWx1, HxWx3 or HxWx4")
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype.kind == "f":
        frame = (np.clip(np.nan_to_num(frame), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    elif frame.dtype != np.uint8:
        raise DeepPhotoError(f"unsupported frame dtype {frame.dtype}")
    if frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    elif frame.shape[2] == 4:
        frame = frame[..., :3]
    return np.ascontiguousarray(frame)


def to_network_input(bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """BGR uint8 frame -> (1, 3, H, W) RGB float32 in [0, 1] at ``size`` = (width, height), squashed."""
    w, h = size
    shrink = bgr.shape[1] > w or bgr.shape[0] > h
    small = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    return (rgb.astype(np.float32) * (1 / 255)).transpose(2, 0, 1)[None]


def mix(painted: np.ndarray, original: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` (0-1) of ``painted`` over ``original`` (same shape, uint8): 1 the painting, 0 the
    original; what ``--strength`` does to a painted frame."""
    if strength >= 1.0:
        return painted
    if strength <= 0.0:
        return original.copy()
    return cv2.addWeighted(painted, float(strength), original, 1.0 - float(strength), 0.0)


def letterbox(image: np.ndarray, size: tuple[int, int], fill: int | tuple[int, ...] = 0) -> np.ndarray:
    """The whole ``image`` scaled into ``size`` (width, height), its shape kept, centred on ``fill``
    (black bars where the shapes differ)."""
    w, h = size
    ih, iw = image.shape[:2]
    if (iw, ih) == (w, h):
        return image
    s = min(w / iw, h / ih)
    nw, nh = min(w, max(1, round(iw * s))), min(h, max(1, round(ih * s)))
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    out = np.full((h, w, *image.shape[2:]), fill, image.dtype)
    top, left = (h - nh) // 2, (w - nw) // 2
    out[top : top + nh, left : left + nw] = small.reshape(nh, nw, *image.shape[2:])
    return out


def small_grey(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A small float32 grey copy in [0, 1] at ``size`` (width, height): what motion checks compare."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32) * (1 / 255)


# How photos are decoded: any depth (16-bit kept until to_bgr8), grey or colour, and the EXIF
# orientation applied (IMREAD_UNCHANGED would ignore it and leave a phone's photo on its side);
# an alpha channel is dropped, as to_bgr8 would drop it.
PHOTO = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR

# "Any painting" (deepphoto.arbitrary) refuses a photo or painting smaller than this on either
# side; the web page checks an uploaded painting against it when it arrives.
MIN_STYLE_SIDE = 8


def decode_file(path: Path, flags: int = PHOTO, what: str = "image") -> np.ndarray:
    """The image file ``path`` decoded from its bytes with ``flags``, or a one-line error. Never
    ``cv2.imread``: a file name that is not valid UTF-8 crashes it (segmentation fault)."""
    path = Path(path)
    if not path.is_file():
        raise not_a_file(path)
    if path.stat().st_size == 0:
        raise DeepPhotoError(f"{path}: file is empty")
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise DeepPhotoError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    img = cv2.imdecode(data, flags)
    if img is None:
        raise DeepPhotoError(f"{path}: not a readable {what}")
    return img


def read_image(path: Path) -> np.ndarray:
    """Any image (grey, RGBA, 16-bit), upright as its EXIF orientation says, as BGR uint8, or a
    one-line error."""
    return to_bgr8(decode_file(path))
