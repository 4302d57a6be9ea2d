"""Animated images (WebP, APNG) decoded frame by frame, each frame with its duration.

FFmpeg, and so PyAV, decodes only the first frame of an animated WebP, or of an animated PNG named
.png (its APNG reader takes .apng files), where a user who hands ``run`` an animation expects all
of it; OpenCV (4.11 and later) decodes them. A GIF or .apng file is read by PyAV as a video
already. Frames are decoded in chunks, so a long animation is not held in memory at once
(``sources.AnimatedImage``); an older OpenCV reads such a file as one photo, as before.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

ANIMATED_SUFFIXES = (".webp", ".png")  # .apng and .gif go to PyAV, which reads them whole
CHUNK = 32  # frames decoded at a time


def decode_chunk(data: np.ndarray, start: int, count: int) -> tuple[list[np.ndarray], list[int]]:
    """Up to ``count`` frames of the encoded animation ``data`` from frame ``start``, and their
    durations in ms (none past the end, or where OpenCV cannot decode it)."""
    try:
        ok, anim = cv2.imdecodeanimation(data, start, count)
    except cv2.error:
        return [], []
    if not ok:
        return [], []
    return list(anim.frames), [int(d) for d in np.asarray(anim.durations).ravel()]


def is_animation(path: Path) -> bool:
    """Whether ``path`` is an animated WebP or PNG with more than one frame (False where this
    OpenCV cannot tell)."""
    path = Path(path)
    if path.suffix.lower() not in ANIMATED_SUFFIXES or not hasattr(cv2, "imdecodeanimation"):
        return False
    try:
        data = np.fromfile(path, np.uint8)
    except OSError:
        return False
    return len(decode_chunk(data, 0, 2)[0]) > 1


def _may_be_animated(head: bytes) -> bool:
    """Whether a file starting with ``head`` is of a kind that can hold frames: GIF, WebP, PNG."""
    webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return head[:6] in (b"GIF87a", b"GIF89a") or head[:4] == b"\x89PNG" or webp


def has_frames(path: Path) -> bool:
    """Whether ``path`` holds more than one frame (an animated GIF, WebP or PNG), judged by its
    content whatever its name says; False where this OpenCV cannot tell."""
    if not hasattr(cv2, "imdecodeanimation"):
        return False
    try:
        data = np.fromfile(Path(path), np.uint8)
    except OSError:
        return False
    return data_has_frames(data)


def data_has_frames(data: np.ndarray) -> bool:
    """``has_frames`` of a file's bytes (an upload). A PNG without an animation chunk (acTL) before
    its picture, or a WebP without the animation flag, is told by its header, not decoded again."""
    if not hasattr(cv2, "imdecodeanimation") or not _may_be_animated(bytes(data[:12])):
        return False
    head = bytes(data[:21])
    if head[:4] == b"\x89PNG":
        picture = bytes(data[: 1 << 20]).find(b"IDAT")
        if b"acTL" not in bytes(data[: picture if picture > 0 else 1 << 20]):
            return False
    elif head[:4] == b"RIFF" and (head[12:16] != b"VP8X" or not head[20] & 0x02):
        return False  # a simple WebP (VP8 / VP8L) or an extended one without animation
    return len(decode_chunk(data, 0, 2)[0]) > 1
