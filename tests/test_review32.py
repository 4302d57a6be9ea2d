"""Review of hunt 32: subtitles kept in run and batch outputs, and the library's changes."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli
from media import make_clip
from test_hunt27_api import _person
from test_hunt32_subtitles import CUES, WHOLE_GREY, subtitles_of, with_subtitles

from deepphoto.errors import DeepPhotoError
from deepphoto.stream import video_subtitles


def tracks(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [s.type for s in c.streams]


@pytest.mark.parametrize("sound", [True, False])
def test_a_subtitle_track_the_container_refuses_costs_the_subtitles_not_the_sound(capsys, tmp_path, monkeypatch, sound):
    """A subtitle track the output's container refuses at its header was taken for a refusal of the
    sound: the output lost its sound (and subtitles) with 'audio not copied: a .mp4 file cannot store
    aac audio (FFmpeg: 'mp4' format does not support 'srt' codec)', 'cannot store its audio' for a
    soundless source. The subtitles alone are left out, and said so in one line."""
    monkeypatch.setitem(video_subtitles.STORED, "mp4", frozenset({"mov_text", "subrip"}))  # a wrong plan
    clip = make_clip(tmp_path / "clip.mkv", frames=25, audio=sound)
    source = with_subtitles(clip, tmp_path / "film.mkv")
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert "audio" not in result.err, result.err
    said = [line for line in result.err.splitlines() if "subtitle" in line]
    assert len(said) == 1 and "1 subtitle track left out: a .mp4 file refused it (FFmpeg: " in said[0], said
    assert tracks(out) == ["video", "audio"] if sound else ["video"]


def test_sound_and_subtitles_both_refused_are_each_said(capsys, tmp_path, monkeypatch):
    """Opus into a .mov (encoded again as AAC) and a subtitle track the .mov refuses: the sound is
    kept as AAC, the subtitles said left out."""
    monkeypatch.setitem(video_subtitles.STORED, "mov", frozenset({"mov_text", "subrip"}))
    clip = make_clip(tmp_path / "clip.mkv", frames=25, audio=True, audio_codec="libopus")
    source = with_subtitles(clip, tmp_path / "film.mkv")
    out = tmp_path / "out.mov"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    said = [line for line in result.err.splitlines() if line.startswith("deepphoto: ") and "frames in" not in line]
    assert len(said) == 1, result.err
    assert "opus audio (mono) re-encoded as AAC (a .mov file cannot store it)" in said[0]
    assert "1 subtitle track left out: a .mov file refused it" in said[0]
    assert "audio not copied" not in result.err
    assert tracks(out) == ["video", "audio"]


def test_sound_refused_as_it_is_keeps_the_subtitles(capsys, tmp_path):
    """Opus into a .mov is encoded again; the SubRip subtitles go in as mov_text all the same."""
    clip = make_clip(tmp_path / "clip.mkv", frames=25, audio=True, audio_codec="libopus")
    source = with_subtitles(clip, tmp_path / "film.mkv")
    out = tmp_path / "out.mov"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert "re-encoded as AAC" in result.err and "subtitle" not in result.err, result.err
    assert tracks(out) == ["video", "audio", "subtitle"]
    assert subtitles_of(out)[0] == [*CUES[:2], (0.9, 1.0, "Last one")]


def test_a_photo_mask_or_reset_while_a_run_is_under_way_is_refused(grey_pipe, tmp_path):
    """Hunt 32 refused another thread's frame or run during a run, but not its ``photo``, ``mask`` or
    ``reset``: a photo (or a photo's mask, or a reset) started the run's stream afresh midway (its
    smoothing, held painting and counts: the summary's 'segmented' counted the photo, the frames
    after it styled as a new stream's first), a frame's mask moved its smoothing on, silently."""
    clip = make_clip(tmp_path / "a.mp4", frames=4)
    refused: list[str] = []

    def observe(_image: np.ndarray, _frame: object) -> None:  # on the run's writer thread
        if refused:
            return
        for other in (
            lambda: grey_pipe.photo(_person()),
            lambda: grey_pipe.mask(_person()),
            lambda: grey_pipe.mask(_person(), photo=True),
            grey_pipe.reset,
        ):
            try:
                other()
                refused.append("taken")
            except DeepPhotoError as exc:
                refused.append(str(exc))

    summary = grey_pipe.run(clip, tmp_path / "out.mp4", progress=False, observe=observe)
    assert summary.frames_out == 4
    assert len(refused) == 4 and all("this Pipeline is running a stream" in r for r in refused), refused
    assert summary.segmented == 4  # the run's frames alone
    assert grey_pipe.photo(_person()).shape == (120, 160, 3)  # after the run: taken again
    grey_pipe.reset()


class _Failed(Exception):
    pass


@pytest.mark.parametrize("raised", [_Failed, KeyboardInterrupt])
def test_a_run_whose_frames_raise_leaves_the_pipeline_free(grey_pipe, tmp_path, raised):
    """The caller's generator raising (an error of its own, Ctrl-C in it): the run ends, and the
    pipeline takes frames and runs again."""

    def frames():
        yield _person()
        raise raised("stop")

    with pytest.raises((raised, DeepPhotoError)):
        grey_pipe.run(frames(), tmp_path / "out.mp4", progress=False)
    assert grey_pipe(_person()).shape == (120, 160, 3)
    assert grey_pipe.run([_person()] * 2, tmp_path / "again.mp4", progress=False).frames_out == 2


def test_a_command_run_from_python_does_not_name_flags_to_another_threads_library_calls(tmp_path, monkeypatch):
    """``errors.option`` was one switch for the whole process: while ``cli.main([...])`` ran in one
    thread (an app running a deepphoto command in the background), a library call in another was
    told 'use --overwrite', an argument ``Pipeline.run`` does not have. The command's own
    messages still name its flags."""
    import threading

    from deepphoto.commands import cli as cli_module
    from deepphoto.errors import option

    inside, done = threading.Event(), threading.Event()
    said: list[str] = []

    def command(_argv: list[str]) -> int:
        said.append(option("overwrite", True))
        inside.set()
        assert done.wait(60)
        return 0

    monkeypatch.setattr(cli_module, "_run", command)
    worker = threading.Thread(target=cli_module.main, args=(["run", "a.mp4", "b.mp4"],))
    worker.start()
    try:
        assert inside.wait(60)
        here = option("overwrite", True)
    finally:
        done.set()
        worker.join(60)
    assert said == ["--overwrite"] and here == "overwrite=True"
