"""Cases a demanding user found on the command line: an animated GIF whose last frame is held
long, and an image output written into the folder the input frames are read from. Each case
checks the exit status, the one line said, no traceback and what was written."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli, digest, leftovers, marked_picture, read_png, refused, write_png
from media import make_clip
from PIL import Image

from deepphoto import Pipeline, Settings
from deepphoto.errors import DeepPhotoError

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]  # the picture itself, without a mask


def gif(path: Path, durations: list[int]) -> Path:
    frames = [Image.fromarray(np.full((48, 64, 3), 30 * i % 256, np.uint8)) for i in range(len(durations))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path


def test_a_gif_whose_last_frame_is_held_long_is_not_called_damaged(capsys, tmp_path):
    """A GIF's last frame shown for half a second (a common pause before it loops) was taken for a
    file cut short: 'decoding stopped at 0.60 s of 0.98 s (the file is cut short or damaged)'."""
    src = gif(tmp_path / "anim.gif", [40, 80, 40, 200, 40, 40, 40, 500])
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", src, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0 and not result.errors
    assert result.warnings == [], result.warnings
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 8


def test_an_image_output_that_is_one_of_the_input_folders_frames_is_refused(capsys, tmp_path):
    """`run frames/ frames/last.png --overwrite` read its own earlier result as a frame of the input
    and then replaced it: an output that is an input, and a source overwritten."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        write_png(frames / f"{i:03d}.png", marked_picture(40, 30))
    last = write_png(frames / "last.png", marked_picture(40, 30))
    before = digest(last)
    refused(
        capsys, "run", frames, last, *RUN_FAST, *WHOLE_GREY, "--overwrite", says="is one of the input folder's images"
    )
    refused(
        capsys,
        "run",
        f"{frames}/",
        frames / ".." / "frames" / "last.png",
        *RUN_FAST,
        *WHOLE_GREY,
        "--overwrite",
        says="is one of the input folder's images",
    )
    assert digest(last) == before and leftovers(tmp_path) == []
    # a new image, or a video (a folder input reads no videos), beside the frames is still written
    assert cli(capsys, "run", frames, frames / "new.png", *RUN_FAST, *WHOLE_GREY).status == 0
    assert cli(capsys, "run", frames, frames / "out.mp4", *RUN_FAST, *WHOLE_GREY).status == 0
    assert (frames / "new.png").is_file() and (frames / "out.mp4").is_file()


@pytest.mark.parametrize("existed", [True, False])
def test_frames_another_job_wrote_meanwhile_are_not_replaced_without_overwrite(tmp_path, existed):
    """Two `run clip frames/` at once, no --overwrite: the job that ended last moved its frames over
    the other's (both said they succeeded; the first result was gone)."""
    clip = make_clip(tmp_path / "in.mp4", frames=6)
    out = tmp_path / "frames"
    if existed:
        out.mkdir()  # an empty folder, as a user makes one for the frames

    def other_job_writes(_image: np.ndarray, _frame: object) -> None:
        if not (out / "000000.png").exists():
            out.mkdir(exist_ok=True)
            write_png(out / "000000.png", marked_picture(40, 30))

    settings = Settings(effect="grey", region="whole", backend="onnx", precision="fp32", seg_input=(64, 64), threads=1)
    with Pipeline(settings) as pipe, pytest.raises(DeepPhotoError, match="appeared there while this job ran") as e:
        pipe.run(str(clip), f"{out}/", progress=False, observe=other_job_writes)
    assert sorted(p.name for p in out.iterdir()) == ["000000.png"]
    assert read_png(out / "000000.png").shape[:2] == (30, 40)  # the other job's frame, untouched
    kept = tmp_path / "frames-1"
    assert str(kept) in str(e.value) and len(list(kept.glob("*.png"))) == 6
    assert leftovers(tmp_path) == []


def _ray_like_init(then_signal: bool):  # noqa: ANN202
    """What ray.init does first: SIGTERM made to exit at once (sys.exit(15)); then, optionally, a
    SIGTERM arrives while Ray is still starting (its processes take seconds)."""

    def init(**_kwargs: object) -> None:
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(signum))
        if then_signal:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here

    return init


@pytest.mark.parametrize("then_signal", [True, False])
def test_sigterm_while_ray_starts_is_a_stop_not_a_silent_exit(monkeypatch, then_signal):
    """`deepphoto batch` given SIGTERM in its first seconds (Ray starting) ended with status 15, no
    word, and its new output folder left behind; after Ray started, its handler stayed in place."""
    ray = pytest.importorskip("ray")
    from deepphoto.batch.cluster import connect
    from deepphoto.stream.stopping import ending_signals

    shut = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", _ray_like_init(then_signal))
    monkeypatch.setattr(ray, "shutdown", lambda: shut.append(True))
    with ending_signals():
        ours = signal.getsignal(signal.SIGTERM)
        if then_signal:
            with pytest.raises(KeyboardInterrupt):
                connect(None)
            assert shut == [True]  # what had started of Ray is stopped
        else:
            assert connect(None) is True
        assert signal.getsignal(signal.SIGTERM) is ours  # a later SIGTERM is a stop too
