"""``run`` given names a new user tries that meant something else than what happened: ``-`` as the
output (a folder named '-' was made), ``/dev/null`` or ``/dev/stdout`` (said to be "a file, not a
folder"), ``$name.mp4`` with ``$name`` empty (a hidden folder of PNGs named '.mp4'), ``-`` and a
``%04d.png`` pattern as the input, a ``--fps`` so small it rounded to 0 (the job ran and said "no
frame could be decoded"), and a source that failed before its first frame (its reason was lost)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest
from adversarial import RUN_FAST, refused, write_png
from media import make_clip

from deepphoto import Pipeline, Settings
from deepphoto.errors import DeepPhotoError
from deepphoto.stream.sources import Source

GREY = ["--effect", "grey"]


def test_a_dash_as_the_output_is_refused_not_made_a_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    refused(capsys, "run", clip, "-", *RUN_FAST, *GREY, says="standard output")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_a_dash_as_the_input_says_standard_input(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused(capsys, "run", "-", tmp_path / "out.mp4", *RUN_FAST, *GREY, says="standard input")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null (a POSIX system)")
def test_dev_null_as_the_output_says_it_is_a_device_and_names_null(capsys, tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    said = refused(capsys, "run", clip, "/dev/null", *RUN_FAST, *GREY, says="/dev/null: is not a regular file")
    assert "null://" in said.errors[0] and "is a file, not a folder" not in said.errors[0], said.errors[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_as_the_output_is_not_called_a_file(capsys, tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    pipe = tmp_path / "frames"
    os.mkfifo(pipe)
    refused(capsys, "run", clip, pipe, *RUN_FAST, *GREY, says="a pipe or a device")


def test_a_regular_file_as_a_folder_output_still_says_file(capsys, tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    (tmp_path / "notes").write_text("mine")
    refused(capsys, "run", clip, tmp_path / "notes", *RUN_FAST, *GREY, says="is a file, not a folder")


@pytest.mark.parametrize("name", [".mp4", ".MKV", ".png"])
def test_a_suffix_without_a_name_is_refused_not_a_hidden_folder(capsys, tmp_path, name):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    refused(capsys, "run", clip, tmp_path / name, *RUN_FAST, *GREY, says="without a name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_a_hidden_folder_asked_for_with_a_slash_is_still_written(capsys, tmp_path):
    write_png(tmp_path / "a.png", np.full((32, 48, 3), 90, np.uint8))
    from adversarial import cli

    result = cli(capsys, "run", tmp_path / "a.png", f"{tmp_path / '.mp4'}/", *RUN_FAST, *GREY)
    assert result.status == 0, result.err
    assert (tmp_path / ".mp4" / "a.png").is_file()


def test_a_numbered_pattern_as_the_input_says_give_the_folder(capsys, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in (1, 2, 5):
        write_png(frames / f"{i:04d}.png", np.full((32, 48, 3), 40 * i, np.uint8))
    said = refused(capsys, "run", frames / "%04d.png", tmp_path / "out.mp4", *RUN_FAST, *GREY, says="give the folder")
    assert f"{frames}/" in said.errors[0], said.errors[0]
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize("fps", ["0.0004", "1e-9"])
def test_a_frame_rate_that_would_round_to_zero_is_refused_before_any_work(capsys, tmp_path, fps):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_png(folder / "a.png", np.full((32, 48, 3), 90, np.uint8))
    out = tmp_path / "out.mp4"
    said = refused(capsys, "run", folder, out, *RUN_FAST, *GREY, "--fps", fps, says="--fps ")
    assert "0.001 or more" in said.errors[0], said.errors[0]
    assert not out.exists()


def test_the_lowest_frame_rate_still_runs(capsys, tmp_path):
    from adversarial import cli

    folder = tmp_path / "photos"
    folder.mkdir()
    write_png(folder / "a.png", np.full((32, 48, 3), 90, np.uint8))
    out = tmp_path / "out.mkv"
    result = cli(capsys, "run", folder, out, *RUN_FAST, *GREY, "--fps", "0.001")
    assert result.status == 0, result.err
    assert out.is_file()


class _Broken(Source):
    """A source that fails before its first frame, with its own reason."""

    def __iter__(self) -> Iterator:
        raise RuntimeError("the capture card went away")
        yield


def test_no_frame_decoded_says_the_sources_reason(tmp_path):
    with Pipeline(Settings(effect="grey", backend="onnx", precision="fp32", seg_input=(64, 64), threads=1)) as pipe:
        with pytest.raises(DeepPhotoError, match="no frame could be decoded.*the capture card went away"):
            pipe.run(_Broken(), str(tmp_path / "out.mp4"), progress=False)
    assert not (tmp_path / "out.mp4").exists()
