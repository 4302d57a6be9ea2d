"""The gated ring (``PaintingHold(ring_gate=G)``, the twelfth round of docs/benchmark/steadiness.md):
within the ring around a moving person, the new painting is taken at once only where it is more
than G grey levels from what is shown; a small change of the style network's painting there is
held as elsewhere, a large one (a glow left behind) is let go at once."""

from __future__ import annotations

import numpy as np
import pytest
from test_stream_ghosts import ghost_rings

from deepphoto.stream.steady_painting import PaintingHold

W, H = 160, 120
RADIUS = 14
A = (slice(55, 65), slice(30, 40))  # still background behind the disc, inside the ring at the end
B = (slice(55, 65), slice(86, 96))  # still background before the disc, inside the ring at the end


def texture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(60, 190, (H, W, 3)).astype(np.uint8)


def disc(t: int) -> np.ndarray:
    """The person: a disc moving right by 5 px a frame (centre x = 20 + 5t)."""
    yy, xx = np.mgrid[:H, :W]
    return (((xx - (20 + 5 * t)) ** 2 + (yy - H // 2) ** 2) <= RADIUS**2).astype(np.float32)


def frame(t: int) -> np.ndarray:
    out = texture(1)
    out[disc(t) > 0] = 245
    return out


def last_output(hold: PaintingHold, changes: list[tuple[tuple[slice, slice], int]], frames: int = 11) -> np.ndarray:
    """The hold's output at the last frame: every frame the same painting, but at the last one
    ``changes`` (region: grey levels added); the hold is given the frame before's mask, as the
    processor gives it."""
    painting = texture(2)
    out = painting
    for t in range(frames):
        now = painting.copy()
        if t == frames - 1:
            for region, add in changes:
                now[region] = np.clip(now[region].astype(int) + add, 0, 255).astype(np.uint8)
        out = hold(frame(t), now, disc(t - 1) if t else None)
    return out


def test_inside_the_ring_a_small_change_is_held_and_a_large_one_taken_at_once() -> None:
    painting = texture(2).astype(int)
    changes = [(A, 3), (B, 40)]
    gated = last_output(PaintingHold(ring_gate=8.0), changes).astype(int)
    whole = last_output(PaintingHold(ring_gate=0.0), changes).astype(int)
    # ring_gate 0 (the tenth round's ring): both regions are in the ring and take the new painting
    assert np.array_equal(whole[A], np.clip(painting[A] + 3, 0, 255))
    assert np.array_equal(whole[B], np.clip(painting[B] + 40, 0, 255))
    # gated: the painter's small change is held (what was shown stays), the large one is taken
    assert np.array_equal(gated[A], painting[A])
    assert np.array_equal(gated[B], np.clip(painting[B] + 40, 0, 255))


def test_the_gate_changes_nothing_outside_the_ring() -> None:
    """Where the ring is empty the gated hold gives exactly what the ungated one gives, also where
    the picture moves (the disc moves, the mask given stays: no ring) and the hold follows it."""
    rng = np.random.default_rng(4)
    person = disc(3)
    a, b = PaintingHold(ring_gate=0.0), PaintingHold(ring_gate=8.0)
    for t in range(10):
        painting = rng.integers(0, 256, (H, W, 3), np.uint8)
        assert np.array_equal(a(frame(t), painting, person), b(frame(t), painting, person))


def test_a_gated_ring_still_lets_the_glow_go() -> None:
    """The stand-in painter's glow (test_stream_ghosts) is not left behind with the gate either."""
    before = ghost_rings(PaintingHold(ring=0))
    assert before > 500
    assert ghost_rings(PaintingHold(ring_gate=8.0)) < 0.01 * before


def test_ring_gate_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        PaintingHold(ring_gate=-1.0)
    with pytest.raises(ValueError):
        PaintingHold(ring_gate=255.0)
