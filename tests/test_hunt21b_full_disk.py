"""A full disk (ENOSPC) met while a video is written: ``run`` said
"cannot write the output (OSError: [Errno 28] No space left on device: '.../.out.NNN.partial.mp4')",
naming its temporary file and a Python class; ``batch`` named its hidden chunk file. Now both name the
output the user asked for and say the disk is full; a full disk is not tried again by ``batch``."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from adversarial import RUN_FAST, leftovers, refused
from media import make_clip

from deepphoto.errors import DeepPhotoError

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]


def test_run_on_a_full_disk_names_the_output_and_says_the_disk_is_full(capsys, tmp_path, monkeypatch):
    from deepphoto.stream.video_file import VideoFileSink

    write = VideoFileSink.write

    def fill_up(self, image, pts=None, seconds=None):  # noqa: ANN001, ANN202
        if self.frames == 3:  # as FFmpeg says it: the temporary file's name in the error
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.tmp))
        write(self, image, pts, seconds)

    monkeypatch.setattr(VideoFileSink, "write", fill_up)
    clip = make_clip(tmp_path / "in.mp4", frames=8)
    out = tmp_path / "out.mp4"
    said = refused(capsys, "run", clip, out, *RUN_FAST, *WHOLE_GREY, says="the disk is full").errors[0]
    assert said.startswith(f"deepphoto: error: {out}: "), said
    assert ".partial" not in said and "OSError" not in said and "Errno" not in said, said
    assert not out.exists() and leftovers(tmp_path) == []


def _runner(tmp_path: Path):  # noqa: ANN202
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto import Settings
    from deepphoto.batch.inputs import WorkItem
    from deepphoto.batch.runner import BatchOptions, BatchRunner, ItemState, Task

    out = tmp_path / "styled"
    runner = BatchRunner([], Settings(effect="grey", region="whole"), BatchOptions(out=out, retries=2))
    runner.work = runner.out / ".deepphoto-batch" / "host-1"
    item = WorkItem(tmp_path / "clip.mp4", runner.out / "clip.mp4", "video", 1, 1)
    runner.states[0] = ItemState(item)
    return runner, item, Task(0, 0)


def _raised_in_a_worker(cause: BaseException) -> Exception:
    import ray.exceptions

    return ray.exceptions.RayTaskError("BatchWorker.chunk", "Traceback ...", cause)


def test_batch_names_the_output_not_its_hidden_chunk_file(tmp_path):
    runner, item, task = _runner(tmp_path)
    chunk = runner.work / "000000" / "chunk-00000.mp4"
    said = DeepPhotoError(f"{chunk}: cannot be written: the disk is full (No space left on device)")
    runner._on_error(task, None, _raised_in_a_worker(said))
    outcome = runner.outcomes[item.key]
    assert outcome.status == "failed"
    assert outcome.reason == f"{item.output}: cannot be written: the disk is full (No space left on device)"
    assert runner.report.retried == 0 and not runner.tasks


def test_batch_does_not_try_a_full_disk_again(tmp_path):
    runner, item, task = _runner(tmp_path)
    hidden = runner.work / "000000" / ".chunk-00000.123-1-abcdef-012345.partial.mp4"
    runner._on_error(task, None, _raised_in_a_worker(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(hidden))))
    assert runner.report.retried == 0 and not runner.tasks  # was tried twice more, the disk as full each time
    reason = runner.outcomes[item.key].reason
    assert reason.startswith(f"{item.output}: ") and "the disk is full" in reason, reason
    assert ".partial" not in reason and "OSError" not in reason, reason


def test_writing_a_frame_on_a_full_disk_says_so(tmp_path, monkeypatch):
    import numpy as np

    from deepphoto.stream.sinks import write_image_atomic

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "out.png"
    with pytest.raises(DeepPhotoError, match="the disk is full") as caught:
        write_image_atomic(out, np.zeros((8, 8, 3), np.uint8))
    assert str(caught.value).startswith(f"{out}: cannot be written")
