"""A picture wider or taller than H.264 can hold (a panorama of 17,000 pixels) into a video.

``run pano.png out.mp4`` ended, after the painting, with libx264's "Generic error in an external
library: avcodec_open2(...)"; now the line says what is wrong and what to do, and no file is left."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from adversarial import RUN_FAST, leftovers, refused, write_png

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.video_file import VideoFileSink


@pytest.mark.parametrize("shape", [(2, 16386), (16386, 2)])
def test_frames_longer_than_h264_holds_are_refused_in_one_line(tmp_path, shape):
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out, Fraction(25))
    with pytest.raises(DeepPhotoError, match=r"at most 16384 pixels a side, and the frames are \d+x\d+"):
        sink.write(np.zeros((*shape, 3), np.uint8))
    sink.abort()
    assert not out.exists() and not leftovers(tmp_path)


def test_the_longest_side_h264_holds_is_written(tmp_path):
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out, Fraction(25))
    sink.write(np.zeros((2, 16384, 3), np.uint8))
    assert sink.close() == out and out.stat().st_size > 0


def test_run_of_a_panorama_into_a_video_says_why(capsys, tmp_path):
    pano = write_png(tmp_path / "pano.png", np.full((4, 16390, 3), 128, np.uint8))
    out = tmp_path / "pano.mp4"
    refused(capsys, "run", pano, out, *RUN_FAST, "--effect", "grey", "--region", "whole", says="16384 pixels a side")
    assert not out.exists() and not leftovers(tmp_path)
