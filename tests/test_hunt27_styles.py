"""Style options as a user restyling photos uses them (bug hunt 27). Each used to go wrong without a word:

- ``edit --style-image`` with a fully transparent (or one-colour) painting washed the photo in
  that colour (add-style refused the same painting): now a one-line error, for both methods;
- a user style file whose rows are finite but absurd (1e30: damaged) was listed, and painted the
  photo black: now it is skipped with a warning, and the other styles still paint.
"""

from __future__ import annotations

import numpy as np
import pytest
from adversarial import FAST, cli, refused, write_png
from test_hunt23_user_styles import shipped_rows, write_style

from deepphoto.models.shipped import SHIPPED, style_names

SHIPPED_NAMES = style_names(SHIPPED["stylenet"])


def photo() -> np.ndarray:
    rng = np.random.default_rng(27)
    return rng.integers(0, 256, (40, 48, 3), np.uint8)


@pytest.mark.parametrize("method", ["fast", "optimize"])
def test_a_fully_transparent_painting_is_refused_in_one_line(capsys, tmp_path, method):
    source = write_png(tmp_path / "in.png", photo())
    bgra = np.dstack([photo(), np.zeros((40, 48), np.uint8)])  # colours under alpha 0: reads as white
    painting = write_png(tmp_path / "clear.png", bgra)
    out = tmp_path / "out.png"
    refused(
        capsys,
        *["edit", source, out, "--style-image", painting, "--method", method, *FAST],
        says="clear.png: is one flat colour",
    )
    assert not out.exists()


def test_a_one_colour_painting_is_refused_and_a_real_one_still_paints(capsys, tmp_path):
    source = write_png(tmp_path / "in.png", photo())
    flat = write_png(tmp_path / "flat.png", np.full((32, 32, 3), 90, np.uint8))
    refused(capsys, "edit", source, tmp_path / "a.png", "--style-image", flat, *FAST, says="one flat colour")
    painting = write_png(tmp_path / "painting.png", photo()[:32, :32])
    done = cli(capsys, "edit", source, tmp_path / "b.png", "--style-image", painting, "--region", "whole", *FAST)
    assert done.status == 0, done.err
    assert (tmp_path / "b.png").is_file()


def test_a_user_style_with_absurd_rows_is_skipped_and_others_still_paint(capsys, tmp_path, data_dir):
    rows = shipped_rows()
    rows = {k: (np.full_like(v, 1e30) if i == 0 else v) for i, (k, v) in enumerate(rows.items())}
    write_style(data_dir / "styles", "broken", rows)
    write_style(data_dir / "styles", "fine")
    listed = cli(capsys, "styles")
    assert listed.status == 0, listed.err
    assert style_names() == [*SHIPPED_NAMES, "fine"]
    assert any("broken.safetensors" in w and "out of range" in w for w in listed.warnings), listed.err
    source = write_png(tmp_path / "in.png", photo())
    refused(capsys, "edit", source, tmp_path / "x.png", "--style", "broken", *FAST, says="unknown style 'broken'")
    done = cli(capsys, "edit", source, tmp_path / "y.png", "--style", "fine", "--region", "whole", *FAST)
    assert done.status == 0, done.err
