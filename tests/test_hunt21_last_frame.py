"""An animation's long last frame in an MP4 or MOV when the encoder reorders its last frames,
written and read back.

A GIF (or animated WebP) of a picture that turns, frames of 100, 200, 300 and 1000 ms: x264 put a
B-frame after the last frame, in decode order, and MP4 and MOV end a track where the last packet in
decode order ends, so the video ended 0.1 s after the last frame began (0.7 s, not 1.6 s): the
pause at the end of the animation was lost. Matroska was right."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image
from test_video_inputs_s18 import convert, timing

MS = [100, 200, 300, 1000]


def turning_animation(path: Path) -> Path:
    """A gradient with a light disc, turned 10 degrees a frame (x264 codes its last frames P, B, B)."""
    y, x = np.mgrid[0:240, 0:180]
    picture = np.dstack([x, y, (x + y) // 2]).astype(np.uint8)
    cv2.circle(picture, (90, 100), 50, (250, 200, 180), -1)
    frames = [Image.fromarray(picture).rotate(10 * i) for i in range(len(MS))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=MS, loop=0)
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_the_long_last_frame_is_kept_when_the_last_packets_come_reordered(tmp_path, suffix):
    out = convert(turning_animation(tmp_path / "turning.gif"), tmp_path / f"out{suffix}")
    if suffix != ".mkv":  # the case: the last frame is not the last packet in decode order
        with av.open(str(out)) as c:
            order = [p.pts for p in c.demux(video=0) if p.size]
        assert order[-1] != max(order)
    duration, end, times = timing(out)
    assert times == pytest.approx([0, 0.1, 0.3, 0.6], abs=1e-3)
    assert end == pytest.approx(1.6, abs=2e-3)  # was 0.7 in MP4 and MOV
    assert duration == pytest.approx(1.6, abs=2e-3)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_an_mp4_whose_long_last_frame_comes_after_a_b_frame_is_read_to_its_end(tmp_path, suffix):
    """Read back, such an MP4 gave its last frame the B-frame's step (0.1 s): its time is on the
    packet last in decode order, so a video made from it (or a batch of it) ended at 0.7 s."""
    mp4 = convert(turning_animation(tmp_path / "turning.gif"), tmp_path / "first.mp4")
    duration, end, times = timing(convert(mp4, tmp_path / f"again{suffix}"))
    assert times == pytest.approx([0, 0.1, 0.3, 0.6], abs=1e-3)
    assert end == pytest.approx(1.6, abs=2e-3)
    assert duration == pytest.approx(1.6, abs=2e-3)
