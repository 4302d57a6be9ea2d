"""Hunt 35 (speed): the per-photo and per-frame cost of the commands against the code of 2026-11-30.

``deepphoto edit`` of a 12-megapixel photo took 0.1 s of its 2 s packing the person alpha and
digesting the photo for a ``Pipeline.mask`` that the command never asks for (a library's memory fix);
``edit`` and a batch's photos now leave it out (``Pipeline.photo(..., keep_mask=False)``), a library
program keeps it by default. No timing is asserted: what is asserted is that the costly calls are
not made, and that the output and the masks are the same.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from adversarial import cli

import deepphoto.pipeline as pipeline_module
from tests.test_hunt27_api import _person


@pytest.fixture
def counted_keeping(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often a photo's alpha was packed and a photo digested for ``Pipeline.mask``."""
    calls = {"packed": 0, "digested": 0}
    packed, digest = pipeline_module._PackedAlpha, pipeline_module._digest

    class Counted(packed):  # type: ignore[misc, valid-type]
        def __init__(self, alpha: np.ndarray) -> None:
            calls["packed"] += 1
            super().__init__(alpha)

    def counted_digest(frame: np.ndarray) -> bytes:
        calls["digested"] += 1
        return digest(frame)

    monkeypatch.setattr(pipeline_module, "_PackedAlpha", Counted)
    monkeypatch.setattr(pipeline_module, "_digest", counted_digest)
    return calls


def test_edit_does_not_pack_a_mask_nobody_asks_for(capsys, tmp_path: Path, counted_keeping) -> None:
    photo = tmp_path / "me.png"
    cv2.imwrite(str(photo), cv2.resize(_person(), (320, 240), interpolation=cv2.INTER_LINEAR))
    out = tmp_path / "out.png"
    result = cli(capsys, "edit", photo, out, "--effect", "grey", "--backend", "onnx", "--precision", "fp32")
    assert result.status == 0, result.err
    assert cv2.imread(str(out)).shape == (240, 320, 3)
    assert counted_keeping == {"packed": 0, "digested": 0}


def test_a_batch_photo_does_not_pack_a_mask_nobody_asks_for(tmp_path: Path, grey_pipe, counted_keeping) -> None:
    from deepphoto.batch.actors import photo_notes

    photo = tmp_path / "me.png"
    cv2.imwrite(str(photo), cv2.resize(_person(), (320, 240), interpolation=cv2.INTER_LINEAR))
    out = tmp_path / "out.png"
    assert photo_notes(grey_pipe, photo, out)[0] == 1
    assert cv2.imread(str(out)).shape == (240, 320, 3)
    assert counted_keeping == {"packed": 0, "digested": 0}


def test_a_photo_without_its_mask_kept_paints_the_same_and_its_mask_is_still_right(grey_pipe) -> None:
    photo = cv2.resize(_person(), (480, 360), interpolation=cv2.INTER_LINEAR)
    other = cv2.resize(_person(x=30), (480, 360), interpolation=cv2.INTER_LINEAR)
    kept = grey_pipe.photo(photo)
    want = grey_pipe.mask(photo, photo=True)  # the alpha it was composited with, remembered
    grey_pipe.photo(other)  # remembered in its turn, then replaced by nothing below
    unkept = grey_pipe.photo(photo, keep_mask=False)
    assert np.array_equal(unkept, kept)  # the same painting
    assert np.array_equal(grey_pipe.mask(photo, photo=True), want)  # segmented afresh: the same alpha
    assert not np.array_equal(grey_pipe.mask(other, photo=True), want)  # not the photo before's
