"""A painting that holds still where the picture does.

A feed-forward style network paints each frame on its own, so tiny input changes (sensor noise,
video compression) come out as brush strokes that crawl over a background that is not moving.
``PaintingHold`` compares each frame, on a small grey copy, with the picture the shown painting was
made from: where the picture did not change, the new painting is blended into the previous output
(mostly the previous one is kept); where it changed, the new painting is taken at once, so a moving
person, or what they uncover, is never painted late. A slow change (light fading) adds up until it
is followed. The style network itself is untouched.
"""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.frames import small_grey
from deepphoto.stream.camera_motion import brought_in, camera_motion, scaled_motion, warp
from deepphoto.stream.smoothing import CutTest, noise_level

# Chosen by measurement on every clip (scripts/steadiness_sweep.py paint; docs/benchmark/steadiness.md):
HOLD = 0.98  # share of the previous output kept on a still pixel (0.95 until the eighth round)
DEADBAND = 4.0  # grey levels the held painting moves on a still pixel before it is shown (sixth round)
GREY_SIDE = 4  # the grey copy is 1/4 of the frame on each side (160x120 for 640x480)
# Not held within RING grey-copy pixels (24 frame pixels) of where the person mask changed and the
# picture moved: the glow a style network paints around a person (scripts/ghost_sweep.py, 2026-12-01)
RING = 6


class PaintingHold:
    def __init__(
        self,
        hold: float = HOLD,
        still: float = 2 / 255,
        moving: float = 6 / 255,
        grey_side: int = GREY_SIDE,
        spread: int = 0,
        grey_long: int = 0,
        noise_scale: float = 0.0,
        deadband: float = DEADBAND,
        follow_camera: bool = False,
        ring: int = RING,
        ring_moved: bool = True,
        ring_gate: float = 0.0,
        ring_keep: float = 0.0,
    ) -> None:
        """``hold``: share of the previous output kept where the picture is still (0 = off, < 1);
        ``still`` / ``moving``: grey change (0-1, on the grey copy) below which a pixel is still,
        and from which on it takes the new painting at once (linear in between);
        ``grey_side``: the grey copy is this many times smaller than the frame on each side;
        ``spread``: a pixel of the grey copy this close to one that changed counts as changed;
        ``grey_long``: when set, the grey copy's long side in pixels whatever the frame's size
        (instead of ``grey_side``), so a pixel of it covers the same share of the view at any size;
        ``noise_scale``: both levels raised by this many times the frame's noise (the 25th
        percentile of the grey change from the frame before), as ``MaskSmoother`` does;
        ``deadband``: grey levels (0-255) by which the held painting must move away from what was
        shown before a still pixel shows it (any channel); a moved pixel shows it at once (0: off);
        ``follow_camera``: where the whole picture moved (a shaking hand, a zoom, a pan: one
        similarity, ``camera_motion``), the held painting is moved with it before the comparison,
        so its strokes stay on the things they paint instead of being redrawn or left behind; what
        the motion uncovers at the border is painted afresh;
        ``ring``: grey-copy pixels within this many of where the person mask (``person`` of
        ``__call__``) changed since the mask before count as moved: a style network paints a glow a
        few brush strokes wide around a person, on background whose picture did not change, and
        without this the glow is held where the person has left (stacked outlines, stripes where
        one sways); elsewhere the hold is unchanged (0: off);
        ``ring_moved``: the ring only around where the mask changed and the picture moved too (by
        ``moving`` on the grey copy, from the frame before or the one before that), so a network's
        flips of the mask over a still picture (a dim, noisy room) do not let the painting crawl;
        ``ring_gate``: grey levels (0-255): within the ring a pixel takes the new painting at once
        only where it is more than this far from what is shown (any channel, as the deadband
        measures); elsewhere in the ring it is held as outside it, so a glow left behind is still
        let go at once while the style network's small frame-to-frame changes stay held (0: the
        whole ring takes the new painting);
        ``ring_keep``: within the ring (ungated) the hold keeps this share of its usual weight
        instead of none, so what is left behind there fades geometrically rather than at once and
        the style network's repaints near a moving person are partly averaged (0: the whole ring
        takes the new painting at once, < 1)."""
        if not 0.0 <= hold < 1.0:
            raise ValueError("hold must be in [0, 1)")
        if not 0.0 <= still < moving:
            raise ValueError("need 0 <= still < moving")
        self.hold, self.still, self.moving = hold, still, moving
        self.grey_side, self.spread, self.grey_long = max(1, grey_side), max(0, spread), max(0, grey_long)
        self.noise_scale = max(0.0, noise_scale)
        if not 0.0 <= deadband < 255.0:
            raise ValueError("deadband must be in [0, 255)")
        self.deadband = deadband
        self.shown: np.ndarray | None = None  # the output last shown (with a deadband)
        self.follow_camera = follow_camera
        self.ring = max(0, ring)
        self.ring_moved = ring_moved
        if not 0.0 <= ring_gate < 255.0:
            raise ValueError("ring_gate must be in [0, 255)")
        self.ring_gate = ring_gate
        if not 0.0 <= ring_keep < 1.0:
            raise ValueError("ring_keep must be in [0, 1)")
        self.ring_keep = ring_keep
        self.change_before: np.ndarray | None = None  # the grey copy's change at the frame before (ring_moved)
        self.person: np.ndarray | None = None  # the last person mask seen (``ring``), at the grey copy's size
        self.uncovered: np.ndarray | None = None  # grey-copy pixels the camera's motion brought in
        self.prev_grey: np.ndarray | None = None  # the frame before (the noise estimate)
        self.last: np.ndarray | None = None
        self.last_grey: np.ndarray | None = None  # the picture (grey copy) the last output shows
        self.cuts = CutTest()

    def reset(self) -> None:
        """A new stream or look: as a fresh hold (the cut test's memory of the last pair too)."""
        self.let_go()
        self.cuts = CutTest()

    def let_go(self) -> None:
        """At a cut: none of the last scene's painting is held (the cut test remembers the cut)."""
        self.last = self.last_grey = self.prev_grey = self.shown = self.uncovered = None
        self.person = self.change_before = None

    def grey_size(self, w: int, h: int) -> tuple[int, int]:
        """(width, height) of the grey copy of a ``w`` x ``h`` frame."""
        if self.grey_long:
            scale = min(1.0, self.grey_long / max(w, h))
            return max(1, round(w * scale)), max(1, round(h * scale))
        return max(1, w // self.grey_side), max(1, h // self.grey_side)

    def person_moved(
        self, person: np.ndarray | None, size: tuple[int, int], moved: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Grey-copy pixels (1) within ``ring`` of where ``person`` (a probability, any size) crossed
        half since the last mask given; None where there is nothing to compare."""
        if not self.ring or person is None:
            return None
        now = cv2.resize(person.astype(np.float32, copy=False), size, interpolation=cv2.INTER_LINEAR) > 0.5
        before, self.person = self.person, now
        if before is None or before.shape != now.shape or (self.ring_moved and moved is None):
            return None
        changed = (now != before).astype(np.uint8)
        if self.ring_moved:
            changed = changed & moved
        k = 2 * self.ring + 1
        return cv2.dilate(changed, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(np.float32)

    def keep(self, grey: np.ndarray) -> np.ndarray:
        """Per pixel of the grey copy: the share of the previous output to keep."""
        assert self.last_grey is not None
        change = cv2.absdiff(grey, self.last_grey)
        if self.spread:  # beside a change counts as changed: a moving edge covers whole brush strokes
            change = cv2.dilate(change, np.ones((2 * self.spread + 1, 2 * self.spread + 1), np.uint8))
        noise = 0.0
        if self.noise_scale and self.prev_grey is not None and self.prev_grey.shape == grey.shape:
            noise = self.noise_scale * noise_level(cv2.absdiff(grey, self.prev_grey))
        moved = np.clip((change - (self.still + noise)) * (1.0 / (self.moving - self.still)), 0.0, 1.0)
        if self.uncovered is not None:
            moved = np.maximum(moved, self.uncovered)
        return (self.hold * (1.0 - moved)).astype(np.float32)

    def __call__(self, frame: np.ndarray, painting: np.ndarray, person: np.ndarray | None = None) -> np.ndarray:
        """``painting`` of ``frame`` (BGR uint8, same size), held where ``frame`` is still;
        ``person``: the latest person probability known (any size; the processor gives the frame
        before's, as this frame's is made meanwhile), for ``ring``."""
        h, w = frame.shape[:2]
        size = self.grey_size(w, h)
        grey = small_grey(frame, size)
        if self.cuts(grey, self.prev_grey) and self.last is not None:
            self.let_go()  # a new scene: none of the last one's painting is held over it
        moved = None
        if self.ring and self.ring_moved and self.prev_grey is not None and self.prev_grey.shape == grey.shape:
            change = cv2.absdiff(grey, self.prev_grey)
            moved = change >= self.moving
            if self.change_before is not None and self.change_before.shape == change.shape:
                moved |= self.change_before >= self.moving
            self.change_before = change
            moved = moved.astype(np.uint8)
        around_person = self.person_moved(person, size, moved)
        if self.hold == 0.0 or self.last is None or self.last.shape != painting.shape:
            self.last, self.last_grey, self.prev_grey, self.shown = painting, grey, grey, None
            return painting
        self.uncovered = None
        if self.follow_camera and self.prev_grey is not None and self.prev_grey.shape == grey.shape:
            self.follow(grey, (w, h))
        keep_small = self.keep(grey)
        gated = around_person is not None and self.ring_gate > 0.0
        if around_person is not None and not gated:  # the person's glow is not held where they have left
            # (ring_keep > 0: held at a share of the usual weight, so a glow left behind fades)
            keep_small = keep_small * (1.0 - around_person * (1.0 - self.ring_keep))
        self.prev_grey = grey
        keep = cv2.resize(keep_small, (w, h), interpolation=cv2.INTER_LINEAR)
        if gated:  # in the ring, only a painting far from what is shown is taken at once
            assert around_person is not None
            taken = self.gate_ring(painting, around_person, (w, h))
            keep = (keep * (1.0 - taken)).astype(np.float32)
            keep_small = keep_small * (1.0 - cv2.resize(taken, size, interpolation=cv2.INTER_AREA))
        out = cv2.blendLinear(self.last, painting, keep, 1.0 - keep)
        self.last = out
        self.last_grey = self.last_grey + (1.0 - keep_small) * (grey - self.last_grey)
        return self.shown_output(out, keep)

    def gate_ring(self, painting: np.ndarray, around_person: np.ndarray, full: tuple[int, int]) -> np.ndarray:
        """Per pixel of the frame, the share let go at once (0-1): in the ring (``around_person``, on
        the grey copy), where the new painting is more than ``ring_gate`` from what is shown (any
        channel); 0 elsewhere, so outside the released pixels the hold is exactly as without a ring."""
        shown = self.shown if self.shown is not None and self.shown.shape == painting.shape else self.last
        assert shown is not None
        far = (largest_channel(cv2.absdiff(painting, shown)) > self.ring_gate).astype(np.float32)
        ring = cv2.resize(around_person, full, interpolation=cv2.INTER_LINEAR)
        return ring * far

    def follow(self, grey: np.ndarray, full: tuple[int, int]) -> None:
        """Move what is held (painting, its picture, what is shown) with the camera, if it moved."""
        assert self.prev_grey is not None and self.last is not None and self.last_grey is not None
        matrix = camera_motion(self.prev_grey, grey)
        if matrix is None:
            return
        small = (grey.shape[1], grey.shape[0])
        big = scaled_motion(matrix, small, full)
        self.last = warp(self.last, big)
        self.last_grey = warp(self.last_grey, matrix)
        if self.shown is not None:
            self.shown = warp(self.shown, big)
        self.uncovered = brought_in(matrix, grey.shape)

    def shown_output(self, held: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """``held`` through the deadband: a pixel shows it where it moved past the deadband from what
        was shown, or where the picture moved (``keep`` below half the hold); elsewhere what was
        shown stays."""
        if self.deadband == 0.0:
            return held
        if self.shown is None or self.shown.shape != held.shape:
            self.shown = held.copy()
            return held  # a frame of its own: what is shown is changed in place later
        apart = largest_channel(cv2.absdiff(held, self.shown))
        if apart.size == 1:  # OpenCV takes a 1x1 picture for a scalar and refuses to compare it with one
            take = ((apart > self.deadband) | (keep < 0.5 * self.hold)).astype(np.uint8) * 255
        else:
            take = cv2.compare(apart, self.deadband, cv2.CMP_GT)
            take = cv2.bitwise_or(take, cv2.compare(keep, 0.5 * self.hold, cv2.CMP_LT))
        cv2.copyTo(held, take, self.shown)
        return self.shown.copy()


def largest_channel(apart: np.ndarray) -> np.ndarray:
    """Per pixel, the largest channel of ``apart`` (OpenCV: numpy's max over an axis is slow)."""
    if apart.ndim != 3:
        return apart
    channels = cv2.split(apart)
    out = channels[0]
    for channel in channels[1:]:
        out = cv2.max(out, channel)
    return out
