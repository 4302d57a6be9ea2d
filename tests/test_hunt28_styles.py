"""Styles as a demanding user adds, lists and paints with them (bug hunt 28). Each used to go wrong:

- a user style file put by hand in the styles folder under an effect's name (``blur.safetensors``)
  was listed by ``styles`` beside the effect ``blur``, and ``edit --style blur`` painted with it
  while saying "blur on the background", as ``--effect blur`` says (add-style refuses the name):
  now it is skipped with a warning naming the file and why, by listing, ``edit`` and ``run`` alike;
- ``edit --style-image`` painted with an 8x8 painting that ``add-style`` refuses (16 pixels a
  side): now both refuse the same paintings (too small, one flat colour) with the same one-line
  error, by one shared check (``frames.check_painting``);
- ``add-style`` learnt a style from a painting too long and thin for the optimiser (a 2000x20
  strip, kept beside the style as 512x5), which ``edit --style NAME --method optimize`` then refused
  with "painting 512x5 is too long and thin", after the minutes of learning: now the shared check
  refuses it up front, for every command;
- ``remove-style wave`` (a shipped style or an effect) said only "no user style 'wave'", as for a
  mistyped name: now it says that it is part of DeepPhoto and cannot be removed.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from adversarial import FAST, RUN_FAST, cli, refused, write_png
from test_hunt23_user_styles import write_style

from deepphoto.models.shipped import SHIPPED, style_names
from deepphoto.settings import EFFECT_NAMES

SHIPPED_NAMES = style_names(SHIPPED["stylenet"])


def photo(h: int = 40, w: int = 48, seed: int = 28) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


@pytest.mark.parametrize("effect", ["blur", "grey"])
def test_a_user_style_named_after_an_effect_is_skipped_everywhere(capsys, tmp_path, data_dir, effect):
    assert effect in EFFECT_NAMES
    write_style(data_dir / "styles", effect)
    write_style(data_dir / "styles", "fine")
    listed = cli(capsys, "styles")
    assert listed.status == 0, listed.err
    assert style_names() == [*SHIPPED_NAMES, "fine"]
    styles_part = listed.out.split("effects (")[0]
    assert f"  {effect} " not in styles_part and "fine" in styles_part, listed.out
    warned = [w for w in listed.warnings if f"{effect}.safetensors" in w]
    assert len(warned) == 1 and "effect" in warned[0] and "skipped" in warned[0], listed.err
    source = write_png(tmp_path / "in.png", photo())
    says = f"unknown style {effect!r} (an effect: --effect {effect})"
    refused(capsys, "edit", source, tmp_path / "x.png", "--style", effect, *FAST, says=says)
    refused(capsys, "run", source, tmp_path / "x.mp4", "--style", effect, *RUN_FAST, says=says)
    done = cli(capsys, "edit", source, tmp_path / "y.png", "--style", "fine", "--region", "whole", *FAST)
    assert done.status == 0, done.err
    gone = cli(capsys, "remove-style", effect)  # it can still be removed by its name
    assert gone.status == 0 and not (data_dir / "styles" / f"{effect}.safetensors").exists(), gone.err


@pytest.mark.parametrize("size", [(8, 8), (8, 200), (15, 64)])
def test_edit_and_add_style_refuse_the_same_small_painting_alike(capsys, tmp_path, monkeypatch, size):
    monkeypatch.setenv("DEEPPHOTO_DATA_DIR", str(tmp_path / "data"))  # the assets' cache left as it is
    source = write_png(tmp_path / "in.png", photo())
    painting = write_png(tmp_path / "tiny.png", photo(*size, seed=1))
    edit = refused(
        capsys, "edit", source, tmp_path / "out.png", "--style-image", painting, *FAST, says="tiny.png: a painting"
    )
    added = refused(capsys, "add-style", painting, "--name", "tiny", "--steps", "1", says="tiny.png: a painting")
    assert edit.errors == added.errors, (edit.errors, added.errors)
    assert "at least 16 pixels" in edit.errors[0]
    assert not (tmp_path / "out.png").exists()
    painting = write_png(tmp_path / "small.png", photo(16, 16, seed=2))
    done = cli(capsys, "edit", source, tmp_path / "out.png", "--style-image", painting, "--region", "whole", *FAST)
    assert done.status == 0, done.err


def test_a_long_thin_painting_is_refused_alike_not_learnt_then_refused_by_the_optimiser(capsys, tmp_path, monkeypatch):
    """add-style learnt a style from a 2000x20 strip (kept as 512x5), which ``edit --style NAME
    --method optimize`` then refused, naming a 'painting 512x5' the user never gave."""
    monkeypatch.setenv("DEEPPHOTO_DATA_DIR", str(tmp_path / "data"))
    source = write_png(tmp_path / "in.png", photo())
    strip = write_png(tmp_path / "strip.png", photo(20, 2000, seed=3))
    says = "strip.png: a painting of 2000x20 pixels is too long and thin (at most 32:1)"
    errors = [
        refused(capsys, "edit", source, tmp_path / "a.png", "--style-image", strip, *FAST, says=says).errors,
        refused(
            capsys, "edit", source, tmp_path / "b.png", "--style-image", strip, "--method", "optimize", *FAST, says=says
        ).errors,
        refused(capsys, "add-style", strip, "--name", "strip", "--steps", "1", says=says).errors,
    ]
    assert errors[0] == errors[1] == errors[2]
    fits = write_png(tmp_path / "fits.png", photo(16, 512, seed=4))  # 32:1 still paints
    done = cli(capsys, "edit", source, tmp_path / "c.png", "--style-image", fits, "--region", "whole", *FAST)
    assert done.status == 0, done.err


@pytest.mark.parametrize(("name", "kind"), [("wave", "a shipped style"), ("blur", "an effect")])
def test_removing_a_built_in_style_says_it_is_built_in(capsys, data_dir, name, kind):
    """``remove-style wave`` said only "no user style 'wave'", as for a typing mistake."""
    write_style(data_dir / "styles", "fine")
    refused(capsys, "remove-style", name, says=f"{name!r} is {kind} of DeepPhoto, not a user style")
    assert (data_dir / "styles" / "fine.safetensors").is_file()
    refused(capsys, "remove-style", "no-such", says="no user style 'no-such' (user styles: fine)")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
