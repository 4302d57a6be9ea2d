"""What a developer embedding the library met (hunt 32): a refusal told a script to 'use
--overwrite' (an argument ``Pipeline.run`` spells ``overwrite=True``), and 'an effect: --effect
grey', '--background goes with --effect replace'; ``pipe.mask(frame)`` right after ``pipe(frame)``
segmented the frame again and smoothed it into itself (not the mask that frame was composited
with; a letterboxed frame's was of the bars too), and counted it twice in ``segmented``; ..."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepphoto import Pipeline, Settings
from deepphoto.errors import DeepPhotoError, command_line
from tests.media import make_clip
from tests.test_hunt27_api import _person

FAST = {"backend": "onnx", "precision": "fp32"}


def test_refusals_name_the_python_argument_not_the_flag(grey_pipe, tmp_path):
    clip = make_clip(tmp_path / "talk.mp4", frames=3)
    (tmp_path / "out.mp4").write_bytes(b"mine")
    with pytest.raises(DeepPhotoError, match=r"use overwrite=True to replace it") as refused:
        grey_pipe.run(clip, tmp_path / "out.mp4", progress=False)
    assert "--" not in str(refused.value)
    with pytest.raises(DeepPhotoError, match=r"^background goes with effect='replace'$"):
        Settings(effect="blur", background="beach.jpg")
    with pytest.raises(DeepPhotoError, match=r"\(an effect: effect='grey'\)"):
        Pipeline(Settings(style="grey", **FAST))
    with command_line():  # the command's user is told the flag, as before
        with pytest.raises(DeepPhotoError, match=r"use --overwrite to replace it"):
            grey_pipe.run(clip, tmp_path / "out.mp4", progress=False)
        with pytest.raises(DeepPhotoError, match=r"^--background goes with --effect replace$"):
            Settings(effect="blur", background="beach.jpg")
    assert (tmp_path / "out.mp4").read_bytes() == b"mine"


def _rebuilt(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The grey effect on the background composited by ``alpha``, as the pipeline does."""
    grey = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR).astype(np.float32)
    a = alpha[..., None]
    return frame * a + grey * (1 - a)


@pytest.mark.parametrize("bars", [0, 40])
def test_the_mask_of_the_frame_just_styled_is_the_one_it_was_composited_with(bars):
    with Pipeline(Settings(effect="grey", **FAST)) as pipe:
        buffer = np.zeros((120 + 2 * bars, 160, 3), np.uint8)  # one buffer, filled again, as a reader does
        for step in range(5):
            buffer[bars : bars + 120] = _person(x=8 * step)
            out = pipe(buffer)
            alpha = pipe.mask(buffer)
            assert alpha.shape == buffer.shape[:2] and alpha.dtype == np.float32
            assert np.abs(_rebuilt(buffer, alpha) - out).max() <= 1.0
            assert np.array_equal(pipe.mask(buffer), alpha)  # asked again: the same
            assert (alpha[:bars] == 0).all() and (alpha[bars + 120 :] == 0).all()
        assert pipe.processor.segmented == 5  # each frame segmented once
        alpha[:] = 2  # the caller's own
        photo = _person()
        out = pipe.photo(photo)
        assert np.abs(_rebuilt(photo, pipe.mask(photo, photo=True)) - out).max() <= 1.0


def test_the_pipeline_and_its_processor_agree_on_being_closed(monkeypatch):
    import deepphoto.stream.processor as processor_module

    closes = []
    monkeypatch.setattr(processor_module, "close_effect", lambda effect: closes.append(effect))
    pipe = Pipeline(Settings(effect="grey", **FAST))
    assert not pipe.closed
    pipe.processor.close()  # its processor closed (the attribute is public): the pipeline is closed
    assert pipe.closed
    frame = _person()
    for use in (pipe, pipe.mask, pipe.photo, lambda _f: pipe.update(effect="blur"), lambda _f: pipe.reset()):
        with pytest.raises(DeepPhotoError, match="this Pipeline is closed"):
            use(frame)
    with pytest.raises(DeepPhotoError, match="this Pipeline is closed"), pipe:
        pass
    pipe.close()
    pipe.close()
    assert len(closes) == 1  # its look closed once


def test_a_pipeline_left_by_an_exception_is_closed():
    with pytest.raises(RuntimeError), Pipeline(Settings(effect="grey", **FAST)) as pipe:
        raise RuntimeError("the caller's own")
    assert pipe.closed and pipe.processor.closed
    with pytest.raises(DeepPhotoError, match="this Pipeline is closed"):
        pipe.mask(_person())


def test_run_takes_frames_of_the_callers_own(grey_pipe, tmp_path):
    def frames(count: int):
        for step in range(count):
            yield _person(x=4 * step).astype(np.float32) / 255  # any form a frame may take

    summary = grey_pipe.run(frames(4), tmp_path / "gen.mp4", progress=False, fps=12)
    assert summary.frames_out == 4 and (tmp_path / "gen.mp4").stat().st_size > 0
    stack = np.stack([_person(x=step) for step in range(3)])
    assert grey_pipe.run(stack, tmp_path / "stack.mp4", progress=False).frames_out == 3
    with pytest.raises(DeepPhotoError, match=r"frame 1 is 80x60, the first 160x120: a video's frames are all one size"):
        grey_pipe.run([_person(), _person(80, 60)], tmp_path / "sizes.mp4", progress=False)
    assert (tmp_path / "sizes.mp4").exists()  # what was done is kept, playable


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (np.zeros((120, 160, 3), np.uint8), r"^source array of shape \(120, 160, 3\): .* \(one picture: pipe\(frame\)"),
        ({"frames": 1}, r"^source \{'frames': 1\}: must be"),
    ],
)
def test_what_cannot_be_frames_is_one_short_line(grey_pipe, tmp_path, source, message):
    with pytest.raises(TypeError, match=message) as refused:
        grey_pipe.run(source, tmp_path / "out.mp4", progress=False)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 300


def test_the_type_hints_take_what_the_readme_shows():
    """``size="640x480"``, as the README shows it, was an error to a type checker (mypy --strict)."""
    import typing

    from deepphoto.stream.sources import Source

    hints = typing.get_type_hints(Pipeline.run)
    assert str in typing.get_args(hints["size"])
    assert Source in typing.get_args(hints["source"])


def test_a_second_stream_while_a_run_is_under_way_is_refused(grey_pipe, tmp_path):
    """Two threads' runs on one pipeline went through one processor, each video's masks smoothed
    into the other's (frames off by up to 8 grey levels on average), without a word."""
    clip = make_clip(tmp_path / "a.mp4", frames=3)
    refused: list[str] = []

    def observe(_image: np.ndarray, _frame: object) -> None:  # on the run's writer thread
        if refused:
            return
        for other in (
            lambda: grey_pipe.run([_person()], tmp_path / "b.mp4", progress=False),
            lambda: grey_pipe(_person()),
        ):
            try:
                other()
            except DeepPhotoError as exc:
                refused.append(str(exc))

    assert grey_pipe.run(clip, tmp_path / "a-out.mp4", progress=False, observe=observe).frames_out == 3
    assert len(refused) == 2 and all("this Pipeline is running a stream" in r for r in refused), refused
    assert not (tmp_path / "b.mp4").exists()
    assert grey_pipe(_person()).shape == (120, 160, 3)  # after the run: frames again


def test_a_photo_styled_is_remembered_for_its_mask_without_a_copy_of_it():
    # review 32: the mask contract kept a copy of the last photo after pipe.photo returned (a
    # 50-megapixel photo: 150 MB held while the Studio idles); it is known again by its digest
    with Pipeline(Settings(effect="grey", **FAST)) as pipe:
        seg = pipe.processor.segmenter
        calls = []
        infer = seg.infer
        seg.infer = lambda x: calls.append(1) or infer(x)
        photo = _person()
        out = pipe.photo(photo)
        assert not any(isinstance(kept, np.ndarray) and kept.shape == photo.shape for kept in pipe._last)
        assert len(calls) == 1
        alpha = pipe.mask(photo, photo=True)
        assert len(calls) == 1  # the photo just styled: not segmented again
        assert np.abs(_rebuilt(photo, alpha) - out).max() <= 1.0
        other = photo.copy()
        other[0, 0] = 255 - other[0, 0]  # one pixel changed: another photo, segmented
        pipe.mask(other, photo=True)
        assert len(calls) == 2
