"""The steadiness metrics on synthetic sequences whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from deepphoto.measure.stability import flicker, flicker_series, lag_frames, output_flicker
from deepphoto.stream.smoothing import MaskSmoother


def square_sequence(frames: int, step: int, size: int = 64, side: int = 16) -> list[np.ndarray]:
    """A person-like square moving ``step`` pixels to the right every frame."""
    out = []
    for t in range(frames):
        m = np.zeros((size, size), np.float32)
        x = 4 + step * t
        m[24 : 24 + side, x : x + side] = 1.0
        out.append(m)
    return out


def test_static_scene_has_zero_flicker() -> None:
    grey = [np.full((32, 32), 0.5, np.float32)] * 10
    masks = [np.eye(32, dtype=np.float32)] * 10
    assert flicker(masks, grey) == 0.0
    assert np.all(flicker_series(masks, grey) == 0.0)


def test_flicker_counts_only_still_pixels() -> None:
    rng = np.random.default_rng(0)
    grey = [np.zeros((20, 20), np.float32) for _ in range(6)]
    for t, g in enumerate(grey):
        g[:, 10:] = t * 0.1  # right half of the picture changes every frame
    masks = [np.zeros((20, 20), np.float32) for _ in range(6)]
    for m in masks:
        m[:, 10:] = rng.random((20, 10))  # the mask changes only where the picture did
    assert flicker(masks, grey) == 0.0
    masks[3][0, 0] = 1.0  # one still pixel flips on and off again: 1/200 of still pixels, twice
    assert flicker_series(masks, grey)[2] == pytest.approx(1 / 200)
    assert flicker(masks, grey) == pytest.approx(2 / 200 / 5)


def test_output_flicker_in_grey_levels() -> None:
    grey = [np.zeros((4, 4), np.float32)] * 3
    outs = [np.zeros((4, 4), np.float32), np.full((4, 4), 2 / 255, np.float32), np.zeros((4, 4), np.float32)]
    assert output_flicker(outs, grey) == pytest.approx(2.0)


@pytest.mark.parametrize("delay", [0, 1, 2])
def test_lag_of_a_delayed_copy(delay: int) -> None:
    raw = square_sequence(20, step=3)
    smoothed = [raw[max(0, t - delay)] for t in range(20)]
    assert lag_frames(smoothed, raw) == pytest.approx(delay, abs=0.05)


def test_lag_of_an_exponential_average_is_fractional_and_positive() -> None:
    raw = square_sequence(20, step=2)
    state, smoothed = raw[0].copy(), []
    for m in raw:
        state = 0.5 * state + 0.5 * m  # plain EMA: trails the motion by about a frame
        smoothed.append(state.copy())
    assert 0.5 <= lag_frames(smoothed, raw) <= 1.5


def test_motion_adaptive_smoother_does_not_trail_a_moving_person() -> None:
    raw = square_sequence(20, step=3)
    pictures = [0.2 + 0.6 * m for m in raw]  # the person is brighter than the room
    smoother = MaskSmoother(0.7)
    smoothed = [smoother(m, g).copy() for m, g in zip(raw, pictures)]
    assert lag_frames(smoothed, raw) <= 0.25


def test_smoother_halves_flicker_of_a_still_scene() -> None:
    rng = np.random.default_rng(1)
    base = np.zeros((32, 32), np.float32)
    base[8:24, 8:24] = 1.0
    grey = [np.full((32, 32), 0.4, np.float32)] * 30  # nothing in the picture moves
    raw = [np.clip(base + rng.normal(0, 0.1, base.shape), 0, 1).astype(np.float32) for _ in range(30)]
    smoother = MaskSmoother(0.7)
    smoothed = [smoother(m, g).copy() for m, g in zip(raw, grey)]
    assert flicker(smoothed, grey) < 0.5 * flicker(raw, grey)
    plain = MaskSmoother(0.0)
    assert flicker([plain(m, g).copy() for m, g in zip(raw, grey)], grey) == pytest.approx(flicker(raw, grey))


def test_no_motion_has_no_lag() -> None:
    raw = [np.ones((8, 8), np.float32)] * 5
    assert np.isnan(lag_frames(raw, raw))
