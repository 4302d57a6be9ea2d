"""The partial release in the ring (``PaintingHold(ring_keep=k)``, the thirteenth round of
docs/benchmark/steadiness.md): within the ring around a moving person the hold keeps k times its
usual weight instead of none, so a new painting there is blended in with weight 1 - k * hold
rather than taken at once; k = 0 is the tenth round's ring, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from test_ring_gate import A, disc, frame, last_output, texture
from test_stream_ghosts import ghost_rings

from deepphoto.stream.steady_painting import HOLD, PaintingHold

C = (slice(54, 66), slice(90, 98))  # still background inside the ring at the end, away from its edge


@pytest.mark.parametrize("k", [0.3, 0.5])
def test_inside_the_ring_a_new_painting_is_blended_with_the_partial_weight(k: float) -> None:
    painting = texture(2).astype(int)
    partial = last_output(PaintingHold(ring_keep=k), [(C, 40)]).astype(int)
    whole = last_output(PaintingHold(ring_keep=0.0), [(C, 40)]).astype(int)
    # k = 0: taken at once; k > 0: the old painting kept with weight k * HOLD
    assert np.array_equal(whole[C], painting[C] + 40)
    expected = painting[C] + (1.0 - k * HOLD) * 40
    assert np.abs(partial[C] - expected).max() <= 1
    assert 15 <= (partial[C] - painting[C]).min() and (partial[C] - painting[C]).max() <= 30


def test_a_small_change_in_the_ring_is_averaged_below_the_deadband() -> None:
    """The painter's small repaint near a moving person: taken at once by the whole release, held
    (half of it is under the deadband) by the partial one."""
    painting = texture(2).astype(int)
    partial = last_output(PaintingHold(ring_keep=0.5), [(A, 3)]).astype(int)
    whole = last_output(PaintingHold(ring_keep=0.0), [(A, 3)]).astype(int)
    assert np.array_equal(whole[A], np.clip(painting[A] + 3, 0, 255))
    assert np.array_equal(partial[A], painting[A])


def test_ring_keep_zero_is_the_ring_as_before() -> None:
    """k = 0 gives exactly what the hold gave before the option, on a moving picture and mask."""
    rng = np.random.default_rng(5)
    a, b = PaintingHold(), PaintingHold(ring_keep=0.0)
    for t in range(10):
        painting = rng.integers(0, 256, (120, 160, 3), np.uint8)
        person = disc(t - 1) if t else None
        assert np.array_equal(a(frame(t), painting, person), b(frame(t), painting, person))


def test_ring_keep_changes_nothing_outside_the_ring() -> None:
    """With no ring (the mask given stays), k does not matter, also where the picture moves."""
    rng = np.random.default_rng(6)
    person = disc(3)
    a, b = PaintingHold(ring_keep=0.0), PaintingHold(ring_keep=0.7)
    for t in range(10):
        painting = rng.integers(0, 256, (120, 160, 3), np.uint8)
        assert np.array_equal(a(frame(t), painting, person), b(frame(t), painting, person))


def test_a_partial_release_still_lets_the_glow_fade() -> None:
    """The stand-in painter's glow (test_stream_ghosts) fades behind the disc with k = 0.5 too."""
    before = ghost_rings(PaintingHold(ring=0))
    assert before > 500
    assert ghost_rings(PaintingHold(ring_keep=0.5)) < 0.1 * before


def test_the_default_is_the_whole_release() -> None:
    assert PaintingHold().ring_keep == 0.0


def test_ring_keep_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        PaintingHold(ring_keep=-0.1)
    with pytest.raises(ValueError):
        PaintingHold(ring_keep=1.0)
