"""The paintings a user brings (bug hunt 31). Each used to go wrong without a word:

- a painting of one flat colour other than a grey (a flat orange, a blue) was taken by ``edit
  --style-image`` (the photo came back washed in orange), ``add-style`` and the Studio's upload:
  the flat check measured the spread of all the numbers together, which is the spread between the
  colour's channels; now each channel's own spread is measured.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from adversarial import FAST, refused, write_png

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import check_painting


def photo(h: int = 40, w: int = 48, seed: int = 31) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


@pytest.mark.parametrize("bgr", [(40, 120, 200), (255, 0, 0), (0, 0, 255)])
def test_a_flat_colour_painting_is_refused_by_edit_and_add_style(capsys, tmp_path, monkeypatch, bgr):
    monkeypatch.setenv("DEEPPHOTO_DATA_DIR", str(tmp_path / "data"))
    source = write_png(tmp_path / "in.png", photo())
    flat = np.full((64, 80, 3), bgr, np.uint8)
    flat = np.clip(flat + np.random.default_rng(1).integers(-1, 2, flat.shape), 0, 255).astype(np.uint8)  # noise
    painting = write_png(tmp_path / "orange.png", flat)
    out = tmp_path / "out.png"
    says = "orange.png: is one flat colour"
    refused(capsys, "edit", source, out, "--style-image", painting, *FAST, says=says)
    refused(capsys, "add-style", painting, "--name", "orange", "--steps", "1", says=says)
    assert not out.exists() and not (tmp_path / "data").exists()


def test_two_flat_colours_and_a_grey_painting_still_paint():
    halves = np.zeros((64, 64, 3), np.uint8)
    halves[:, :32] = (40, 120, 200)
    halves[:, 32:] = (200, 120, 40)
    check_painting(halves, "halves.png", "paint with")
    grey = np.repeat(photo(64, 64)[..., :1], 3, axis=2)
    check_painting(grey, "grey.png", "paint with")
    check_painting(grey[..., 0], "grey.png", "paint with")  # a 2-D grey array too
    with pytest.raises(DeepPhotoError, match="one flat colour"):
        check_painting(np.full((64, 64), 90, np.uint8), "flat.png", "paint with")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
