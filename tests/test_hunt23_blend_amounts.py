"""A blend amount is a plain number: 'wave:' and 'wave:1_0' are typos, not 1 and 10 (hunt of 2026-12-02)."""

from __future__ import annotations

import pytest

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import parse_blend


@pytest.mark.parametrize("text", ["wave:", "wave: ", "wave:1_0", "wave:0x1", "wave:1,scream:", "wave:½"])
def test_an_amount_that_is_not_a_plain_number_is_refused(text: str) -> None:
    with pytest.raises(DeepPhotoError, match="the blend amount must be a number"):
        parse_blend(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wave", [("wave", 1.0)]),
        ("wave:0.7,scream:0.3", [("wave", 0.7), ("scream", 0.3)]),
        ("wave:.5", [("wave", 0.5)]),
        ("wave:2.", [("wave", 2.0)]),
        ("wave:1e-1, scream: 3", [("wave", 0.1), ("scream", 3.0)]),
        ("wave:+1", [("wave", 1.0)]),
    ],
)
def test_plain_numbers_still_blend(text: str, expected: list[tuple[str, float]]) -> None:
    assert parse_blend(text) == expected


@pytest.mark.parametrize("text", ["wave:nan", "wave:-inf", "wave:-1"])
def test_not_finite_or_negative_keeps_its_message(text: str) -> None:
    with pytest.raises(DeepPhotoError, match="finite number, 0 or more"):
        parse_blend(text)
