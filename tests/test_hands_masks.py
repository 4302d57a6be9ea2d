"""The hands set's mirrored masks (white hands where the photo shows background) are left out of
every split: training would learn "person" on the background there. Which masks: found by
``scripts/hands_mirrored.py`` from the teacher labels, and looked at."""

from __future__ import annotations

import pytest
from conftest import SHARED

from deepphoto.datasets import _HANDS_MIRRORED, pairs

HANDS = SHARED / "seg" / "hands"
pytestmark = pytest.mark.skipif(not HANDS.is_dir(), reason=f"needs the shared data's hands set at {HANDS}")


def test_no_split_holds_a_mirrored_mask():
    stems = {image.stem for image, _ in pairs("hands", "all", SHARED)}
    assert stems and not stems & _HANDS_MIRRORED


def test_the_mirrored_list_holds_only_files_of_the_set():
    assert all((HANDS / "masks" / f"{stem}.png").exists() for stem in _HANDS_MIRRORED)
