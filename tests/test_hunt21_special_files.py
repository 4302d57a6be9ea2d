"""Pipes among ``batch``'s inputs: one in an input folder made the batch wait forever (opening a
pipe to probe it waits for a writer); one given by name was said to be missing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from adversarial import write_png

from deepphoto.batch.inputs import expand_inputs

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")


def test_a_pipe_in_an_input_folder_is_left_out(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "pipe.mp4")  # named as a video and a photo: taken by their names, never opened here
    os.mkfifo(folder / "pipe.jpg")
    write_png(folder / "photo.png", np.full((8, 8, 3), 128, np.uint8))
    items, problems = expand_inputs([str(folder)], tmp_path / "out")
    assert [it.source.name for it in items] == ["photo.png"] and problems == []


def test_a_pipe_given_by_name_is_said_to_be_a_pipe(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.mp4"
    os.mkfifo(pipe)
    items, problems = expand_inputs([str(pipe)], tmp_path / "out")
    assert items == []
    assert [(p.source, p.reason) for p in problems] == [
        (str(pipe), "is not a regular file (a pipe or a device); give a file")
    ]
