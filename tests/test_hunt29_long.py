"""Hunt 29 (long videos): what a user restyling a recorded talk or a film met.

- A Matroska or WebM file (OBS records to MKV; FFmpeg, mkvmerge and browsers' MediaRecorder write
  them) counts no frames in its header: ``deepphoto run talk.mkv out.mp4`` drew a bare counter
  ('5000frame [01:40, 50frame/s]') for the whole hour, no percentage and no time left, though the
  file states its duration. The bar's total is now estimated from that duration; and a count that
  was estimated (or a header that promised fewer) never draws the bar past 100%, and a run that
  reaches the file's end ends the bar at 100%.
- A batch of a film stopped at 36% (three 60-s chunks done) said '1 unfinished input dropped (the same
  command again resumes them)' and 'run the same command again to resume'; the same command started
  that film again at 0% (finished chunks are not kept). The lines now say that an unfinished input
  starts again from its start.
- ``run film.mkv first.mp4 --max-frames 300`` (a look at the first 10 s of a 10-minute film) drew
  '2%| 300/18000 [00:05<05:00]' and stopped there, the time left a run of the whole film's; the bar
  now counts to the frames asked for.
"""

from __future__ import annotations

import io
import re
import sys
from fractions import Fraction

import numpy as np
import pytest
from media import make_clip

from deepphoto.stream import loop
from deepphoto.stream.frame import Frame
from deepphoto.stream.processor import StageTimes
from deepphoto.stream.sinks import Sink
from deepphoto.stream.sources import FileVideo, Source


def test_a_matroska_file_without_a_frame_count_gets_a_progress_total(tmp_path):
    clip = make_clip(tmp_path / "talk.mkv", frames=50, fps=25)
    source = FileVideo(clip)
    try:
        assert source.reader.frame_count == 0  # Matroska does not count them
        assert source.frame_count == 50  # 2 s at 25 fps
    finally:
        source.close()


class Counted(Source):
    """``frames`` small frames, of which the header says ``said``."""

    def __init__(self, frames: int, said: int) -> None:
        self.frames, self.frame_count, self.fps, self.time_base = frames, said, Fraction(25), Fraction(1, 25)

    def __iter__(self):
        for i in range(self.frames):
            yield Frame(np.full((8, 8, 3), i % 255, np.uint8), i, Fraction(1, 25))


class Dropped(Sink):
    def write(self, image, frame) -> None:
        pass

    def close(self):
        return None


class Unchanged:
    times = StageTimes()

    def __call__(self, image):
        return image


def percentages(monkeypatch, frames: int, said: int, max_frames: int = 0) -> list[int]:
    drawn = io.StringIO()
    monkeypatch.setattr(loop, "progress_shown", lambda progress: True)
    monkeypatch.setattr(sys, "stderr", drawn)
    loop.run_stream(Counted(frames, said), Dropped(), Unchanged(), max_frames=max_frames)
    return [int(p) for p in re.findall(r"(\d+)%\|", drawn.getvalue())]


@pytest.mark.parametrize("said", [40, 60])
def test_the_bar_never_passes_100_and_ends_at_100(monkeypatch, said):
    shown = percentages(monkeypatch, 50, said)
    assert shown, "no percentage drawn"
    assert max(shown) <= 100 and shown[-1] == 100, shown


def test_a_stopped_batch_does_not_promise_to_resume_a_video_midway():
    from deepphoto.batch.report import BatchReport, Outcome

    report = BatchReport([Outcome("film.mkv", "interrupted", reason="interrupted")], interrupted=True)
    said = report.summary()
    assert "1 not finished" in said and "a video from its first unfinished chunk" in said, said  # hunt 30: kept


@pytest.mark.parametrize("said", [0, 50])
def test_max_frames_is_the_bars_total(monkeypatch, said):
    shown = percentages(monkeypatch, 50, said, max_frames=10)
    assert shown and shown[-1] == 100, shown
