"""How a V4L2 device is named in a URI, the same for a camera (input) and a v4l2loopback virtual
camera (output): ``/dev/videoN``, ``v4l2://N``, and as jetson-utils names it, ``v4l2:///dev/videoN``."""

from __future__ import annotations

import re
from pathlib import Path

from deepphoto.errors import DeepPhotoError

STABLE_NAMES = "/dev/v4l/"  # udev's by-id/ and by-path/ links to a camera's /dev/videoN


def names_v4l2(uri: str) -> bool:
    """Whether ``uri`` names a V4L2 device: ``v4l2://...`` or ``/dev/video...`` with no further
    folder (``/dev/videos/clip.mp4`` is a file, not a camera; ``/dev/video0x`` a camera misnamed)."""
    return uri.startswith("v4l2://") or re.fullmatch(r"/dev/video[^/]*", uri) is not None


def v4l2_index(uri: str, default: int | None = 0) -> int:
    """The N of the device ``uri`` names; no number: ``default`` (None: a one-line error)."""
    device = uri.removeprefix("v4l2://")
    rest = device.removeprefix("/dev/video")
    if not rest and default is not None:
        return default
    if not rest.isdigit():
        raise DeepPhotoError(f"{uri}: expected v4l2://N or v4l2:///dev/videoN (or /dev/videoN), with a device number")
    return int(rest)


def linked_v4l2(uri: str) -> str | None:
    """The ``/dev/videoN`` a link names, as udev names a camera for good
    (``/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_...-video-index0``, ``/dev/v4l/by-path/...``: the
    same camera whatever number it got, after a reboot or plugged in again); None for anything else."""
    if "://" in uri or names_v4l2(uri):
        return None
    path = Path(uri)
    try:
        target = str(path.resolve())
        return target if path.is_char_device() and re.fullmatch(r"/dev/video\d+", target) else None
    except (OSError, RuntimeError):  # a loop of links
        return None
