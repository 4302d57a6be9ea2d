"""A camera named as jetson-utils names it, ``v4l2:///dev/video0``, was refused as "expected
v4l2://N with a device number"; it is the camera ``/dev/video0`` and ``v4l2://0`` name."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.sources import open_source

ABSENT = next(n for n in range(77, 200) if not Path(f"/dev/video{n}").exists())


@pytest.mark.parametrize("uri", [f"v4l2:///dev/video{ABSENT}", f"v4l2://{ABSENT}", f"/dev/video{ABSENT}"])
def test_every_name_of_a_camera_finds_the_same_device(uri):
    with pytest.raises(DeepPhotoError, match=rf"camera not found \(no /dev/video{ABSENT}\)"):
        open_source(uri)


@pytest.mark.parametrize("uri", ["v4l2:///dev/videox", "v4l2://x", "/dev/video0x"])
def test_a_name_without_a_device_number_is_still_refused(uri):
    with pytest.raises(DeepPhotoError, match="with a device number"):
        open_source(uri)
