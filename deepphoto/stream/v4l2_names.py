"""How a V4L2 device is named in a URI, the same for a camera (input) and a v4l2loopback virtual
camera (output): ``/dev/videoN``, ``v4l2://N``, and as jetson-utils names it, ``v4l2:///dev/videoN``."""

from __future__ import annotations

import re

from deepphoto.errors import DeepPhotoError


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
