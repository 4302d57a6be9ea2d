"""A batch run again skips only what the same settings AND the same weights made (a user style
learnt again under its name, or new shipped weights, used to count as done)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from deepphoto.batch import manifest
from deepphoto.models import shipped
from deepphoto.settings import Settings


def test_a_user_style_learnt_again_under_its_name_is_new_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    style = tmp_path / "mine.safetensors"
    style.write_bytes(b"first rows")
    other = tmp_path / "other.safetensors"
    other.write_bytes(b"other rows")
    found = [SimpleNamespace(name="mine", path=style), SimpleNamespace(name="other", path=other)]
    monkeypatch.setattr(shipped, "user_styles_for", lambda: found)
    look = Settings(style="mine:0.5,wave:0.5")
    before = manifest.settings_hash(look)
    assert manifest.settings_hash(look) == before  # steady
    other.write_bytes(b"other rows, learnt again")
    assert manifest.settings_hash(look) == before  # a style the look does not name changes nothing
    style.write_bytes(b"second rows")
    assert manifest.settings_hash(look) != before


def test_new_shipped_weights_are_new_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "lightnet.safetensors"
    weights.write_bytes(b"v8 soup")
    monkeypatch.setattr(shipped, "SHIPPED", {"lightnet": weights})
    look = Settings(effect="blur")
    before = manifest.settings_hash(look)
    weights.write_bytes(b"v11")
    assert manifest.settings_hash(look) != before
