"""A cut MP4 (its index first, the rest cut off) given to ``batch``: the result said "3 of 100 frames
could not be decoded" (the packets that are there, not the 200 frames the file declares), where
``run`` says "decoding stopped at 3.76 s of 8.00 s (the file is cut short or damaged)". The chunk
that reads to the end now brings run's words back, and the batch says them."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from deepphoto import Pipeline, Settings
from deepphoto.batch.chunks import plan_video, render_chunk

SETTINGS = Settings(effect="grey", region="whole", backend="onnx", precision="fp32", seg_input=(64, 64), threads=1)


def cut_mp4(tmp_path: Path, frames: int = 100) -> Path:
    """An MP4 of ``frames`` frames at 25 fps with its index first (faststart), cut in half."""
    whole = tmp_path / "whole.mp4"
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            image = np.random.default_rng(i).integers(0, 255, (48, 64, 3), np.uint8)
            f = av.VideoFrame.from_ndarray(image, format="bgr24")
            f.pts, f.time_base = i, Fraction(1, 25)
            for p in v.encode(f):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return cut


def test_a_cut_video_in_a_batch_is_said_as_run_says_it(tmp_path, capsys):
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto.batch.inputs import WorkItem
    from deepphoto.batch.runner import BatchOptions, BatchRunner, ItemState, Task

    cut = cut_mp4(tmp_path)
    plan = plan_video(cut, chunk_seconds=60)
    with Pipeline(SETTINGS) as pipe:
        result = render_chunk(pipe, plan, plan.chunks[0], tmp_path / "chunk.mp4")
    assert result.ended_early.startswith("decoding stopped at ") and result.ended_early.endswith(" s of 4.00 s")
    capsys.readouterr()

    runner = BatchRunner([], SETTINGS, BatchOptions(out=tmp_path / "styled"))
    item = WorkItem(cut, runner.out / "cut.mp4", "video", 1, 1)
    runner.states[0] = ItemState(item, plan=plan)
    finished: list[str] = []
    runner._finish = lambda st, task, made, frames, note: finished.append(note)  # no join: the note only
    runner._on_result(Task(0, 0), result)
    assert finished == [f"{result.ended_early}: the file is cut short or damaged; the frames before that are used"]
