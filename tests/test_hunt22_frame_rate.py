"""A steady clip keeps its frame rate and its length in an MP4 or MOV.

Keeping an animation's long last frame (the last packet in decode order made to end where the last
frame does) counted the encoder's delay twice: every MP4 and MOV written lasted one frame too long
and read back at 24.51 fps for 25 (50 frames), 13.6 for 15 (10 frames). The track now ends where
the last frame does, counted on the packets' decode times."""

from __future__ import annotations

from fractions import Fraction

import av
import pytest
from media import make_clip
from test_video_inputs_s18 import convert, timing


def track(path):
    """The video's average rate, its stream's duration (s) and its frame count."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = sum(1 for _ in c.decode(s))
        return s.average_rate, float(s.duration * s.time_base), frames


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
@pytest.mark.parametrize(("fps", "frames", "source"), [(25, 50, ".mp4"), (15, 10, ".mkv"), (30, 7, ".mov")])
def test_a_steady_clip_keeps_its_rate_and_length(tmp_path, suffix, fps, frames, source):
    clip = make_clip(tmp_path / f"in{source}", frames=frames, fps=fps)
    out = convert(clip, tmp_path / f"out{suffix}")
    rate, duration, count = track(out)
    slack = 1e-3 if source != ".mkv" else 1e-3 * frames  # Matroska's times are whole milliseconds
    assert count == frames
    assert float(rate) == pytest.approx(fps, abs=fps * slack)  # was 1250/51 for 25 fps, 50 frames
    assert duration == pytest.approx(float(Fraction(frames, fps)), abs=slack)
    container, end, times = timing(out)
    assert end == pytest.approx(float(Fraction(frames, fps)), abs=slack)
    assert times[-1] == pytest.approx(float(Fraction(frames - 1, fps)), abs=slack)


def test_written_twice_a_clip_keeps_its_rate_and_length(tmp_path):
    """An MP4 of ours read back (the reader ends the last frame where the track ends) and written again."""
    clip = make_clip(tmp_path / "in.mp4", frames=50, fps=25)
    once = convert(clip, tmp_path / "once.mp4")
    twice = convert(once, tmp_path / "twice.mp4")
    for path in (once, twice):
        rate, duration, count = track(path)
        assert (rate, count) == (25, 50) and duration == pytest.approx(2.0, abs=1e-3)
