"""What a developer embedding the library met (hunt 32): a refusal told a script to 'use
--overwrite' (an argument ``Pipeline.run`` spells ``overwrite=True``), and 'an effect: --effect
grey', '--background goes with --effect replace'; ``pipe.mask(frame)`` right after ``pipe(frame)``
segmented the frame again and smoothed it into itself (not the mask that frame was composited
with; a letterboxed frame's was of the bars too), and counted it twice in ``segmented``; ..."""

from __future__ import annotations

import pytest

from deepphoto import Pipeline, Settings
from deepphoto.errors import DeepPhotoError, command_line
from tests.media import make_clip

FAST = {"backend": "onnx", "precision": "fp32"}


@pytest.fixture(scope="module")
def grey_pipe():
    with Pipeline(Settings(effect="grey", **FAST)) as pipe:
        yield pipe


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
