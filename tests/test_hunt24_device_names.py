"""A file under a folder whose name begins like a camera's (``/dev/videos/clip.mp4``) was taken for
the camera ``/dev/video0`` (input) or a virtual camera (output); and ``soak`` at an --fps too low
for one frame in its --minutes ran to the end to say that no frame came through."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.sinks import output_kind
from deepphoto.stream.sources import check_source_path
from deepphoto.stream.v4l2_names import names_v4l2


@pytest.mark.parametrize("uri", ["/dev/video0", "/dev/video", "/dev/video12", "/dev/video0x", "v4l2://1"])
def test_camera_names(uri):
    assert names_v4l2(uri)


@pytest.mark.parametrize("uri", ["/dev/videos/clip.mp4", "/dev/video0/clip.mp4", "/tmp/dev/video0", "video0"])
def test_paths_that_only_look_like_a_camera(uri):
    assert not names_v4l2(uri)


def test_a_file_under_dev_videos_is_a_file_both_ways():
    with pytest.raises(DeepPhotoError, match="/dev/videos/clip.mp4: no such file or folder"):
        check_source_path("/dev/videos/clip.mp4")
    assert output_kind("/dev/videos/out.mp4") == "video"
    assert output_kind("/dev/video3") == "vcam"


def test_soak_refuses_an_fps_that_offers_no_frames():
    done = subprocess.run(
        [sys.executable, "-m", "deepphoto", "soak", "--fps", "0.01", "--minutes", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "deepphoto: error: --fps 0.01 for --minutes 1: fewer than two frames would be offered; raise either"
    ]
