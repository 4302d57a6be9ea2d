"""A virtual camera output named as jetson-utils names a loopback device, ``v4l2://N`` or
``v4l2:///dev/videoN``, is the same as ``/dev/videoN`` (it was "unknown output scheme")."""

from __future__ import annotations

import pytest
from adversarial import RUN_FAST, refused

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.sinks import check_sink, loopback_device, output_kind


@pytest.mark.parametrize(
    ("uri", "device"),
    [
        ("v4l2://2", "/dev/video2"),
        ("v4l2:///dev/video2", "/dev/video2"),
        ("/dev/video2", "/dev/video2"),
        ("vcam://", None),
        ("vcam:///dev/video7", "/dev/video7"),
    ],
)
def test_each_name_of_a_loopback_device(uri: str, device: str | None) -> None:
    assert output_kind(uri) == "vcam"
    assert loopback_device(uri) == device


@pytest.mark.parametrize("uri", ["v4l2://", "v4l2://x", "v4l2:///dev/videoX", "v4l2:///tmp/out.mp4"])
def test_a_bad_v4l2_output_is_refused_before_any_work(uri: str) -> None:
    with pytest.raises(DeepPhotoError, match="expected v4l2://N or v4l2:///dev/videoN"):
        check_sink(uri)


def test_run_says_it_in_one_line(capsys) -> None:
    refused(capsys, "run", "synthetic://", "v4l2://cam", *RUN_FAST, says="expected v4l2://N")
