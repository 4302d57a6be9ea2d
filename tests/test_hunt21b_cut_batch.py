"""A cut MP4 (its index first, the rest cut off) given to ``batch``: the result said "3 of 100 frames
could not be decoded" (the packets that are there, not the 200 frames the file declares), where
``run`` says "decoding stopped at 3.76 s of 8.00 s (the file is cut short or damaged)". The chunk
that reads to the end now brings run's words back, and the batch says them."""

from __future__ import annotations

import pytest
from media import cut_mp4

from deepphoto import Pipeline, Settings
from deepphoto.batch.chunks import plan_video, render_chunk

SETTINGS = Settings(effect="grey", region="whole", backend="onnx", precision="fp32", seg_input=(64, 64), threads=1)


def test_a_cut_video_in_a_batch_is_said_as_run_says_it(tmp_path, capsys):
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto.batch.inputs import WorkItem
    from deepphoto.batch.runner import BatchOptions, BatchRunner, ItemState, Task

    cut = cut_mp4(tmp_path, frames=100)
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
