"""Motion-adaptive temporal smoothing of the person probability.

Steady by design: each pixel's mask follows the picture under it. Where the picture moved (its
grey level changed, after matching the brightness of the whole frame, so a flickering light or an
auto-exposure step is not motion) the mask takes the new probability at once; where the picture did
not move, the mask holds, and the longer it has been still the more firmly. A network that changes
its mind about a picture that did not change is flicker, and is held; a person who moves changes
the picture, and is followed without lag.

``smooth`` is the OBS-like control: the weight kept from the past on a still pixel (0 = off: the
raw masks, bit for bit). Chosen by measurement on every clip of ``deepphoto bench --clips``
(scripts/steadiness_sweep.py; docs/benchmark/steadiness.md).
"""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.stream.camera_motion import brought_in, camera_motion, warp


def picture_change(grey: np.ndarray, last: np.ndarray) -> np.ndarray:
    """|grey - last| per pixel (0-1) after scaling ``last`` to the brightness of ``grey``."""
    gain = float(grey.mean()) / max(float(last.mean()), 1e-6)
    return np.abs(grey - last * np.float32(gain))


def colour_change(colour: np.ndarray, last: np.ndarray) -> np.ndarray:
    """The largest of the B, G, R changes per pixel (0-1), each channel scaled to the brightness of
    ``colour``'s first: a person whose colour differs from the background's but whose grey does not
    (a grey shirt against a blue sky) still moves the picture."""
    gain = colour.reshape(-1, 3).mean(0) / np.maximum(last.reshape(-1, 3).mean(0), 1e-6)
    return np.abs(colour - last * gain.astype(np.float32)).max(axis=2)


def small_colour(frame: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 BGR copy of ``frame`` (uint8) in [0, 1] at ``shape`` (height, width)."""
    return cv2.resize(frame, (shape[1], shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32) * (1 / 255)


def noise_level(change: np.ndarray) -> float:
    """A frame's noise from its per-pixel grey change against the frame before: the 25th
    percentile, which sensor and compression noise set and motion barely raises (most of a frame
    is flat)."""
    return float(np.percentile(change, 25))


# A new scene (a cut in a video, the next photo of a folder), by either of two tests against the
# frame before (scripts/cut_levels.py over every frame pair of the 30 shared and synthetic clips;
# docs/benchmark/steadiness.md, "Cuts"). What was held is then let go, as on a first frame.
# 1. The 25th percentile of the grey change reaches CUT_LEVEL: a cut between scenes of different
#    brightness (the first frames of two different clips are 25 levels apart at the median), a flash.
CUT_LEVEL = 10.0 / 255
# 2. The two pictures no longer look alike: the best normalized correlation of their small copies
#    over the shifts a moving camera makes is under CUT_LIKENESS. A cut between two dim scenes keeps
#    most pixels within a few grey levels (test 1 misses it: 4-7 levels on the stage clip's three
#    cuts) but shares no structure (correlation 0.02-0.31); continuous footage stays at 0.75 or
#    more (a dim, moving close-up), 0.89 or more on every other clip.
CUT_LIKENESS = 0.5
CUT_SIDE = 88  # the copies compared are at most this long (the mask's own size)
CUT_SHIFT = 0.07  # shifts searched: this share of the copy's short side each way (a pan, a shake)
CUT_TEXTURE = 4.0 / 255  # copies flatter than this (grey standard deviation) tell nothing by shape
# The most the noise can raise the still and moving levels: sensor and compression noise, never
# what a new scene's change would make of it (a ghost of the old mask held over the new picture).
NOISE_CAP = 8.0 / 255


def _small(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape[:2]
    scale = CUT_SIDE / max(h, w)
    if scale >= 1.0:
        return grey.astype(np.float32, copy=False)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(grey.astype(np.float32, copy=False), size, interpolation=cv2.INTER_AREA)


def _spread(grey: np.ndarray) -> float:
    """The grey standard deviation (OpenCV's: a few times numpy's speed on these small copies)."""
    return float(cv2.meanStdDev(grey)[1][0, 0])


def likeness(grey: np.ndarray, before: np.ndarray) -> float | None:
    """How alike two grey pictures (0-1, same size) are in shape: the highest normalized
    correlation of their small copies over small shifts (a moving camera's), from -1 to 1; None
    where either is too flat (or too small) to tell."""
    a, b = _small(grey), _small(before)
    margin = max(1, round(CUT_SHIFT * min(a.shape)))
    if min(a.shape) <= 2 * margin + 2 or min(_spread(a), _spread(b)) < CUT_TEXTURE:
        return None
    middle = a[margin:-margin, margin:-margin]
    if _spread(middle) < CUT_TEXTURE:
        return None
    scores = cv2.matchTemplate(b, middle, cv2.TM_CCOEFF_NORMED)
    return float(np.nanmax(scores)) if np.isfinite(scores).any() else None


def scene_cut(grey: np.ndarray, before: np.ndarray | None, level: float | None = None) -> bool:
    """Whether ``grey`` (0-1) looks like another scene than ``before`` (the frame before, same
    size), judged on this pair alone; ``level``: the frame's noise level against ``before`` when
    already measured. ``CutTest`` adds what the frames before say."""
    return CutTest()(grey, before, level)  # a test with no past: the pair alone decides


# A cut by shape is an event in footage that was steady: only after a pair at least this alike. A
# dark, noisy still room, whose small copies are mostly noise, looks alike to nothing from one
# frame to the next (likeness about 0: a review's finding); it is one scene, never a cut a frame.
# The pairs before the stage clip's three cuts are 0.88-1.0 alike.
CUT_STEADY = 0.75


class CutTest:
    """Tells cuts frame by frame: ``scene_cut``'s brightness test, or its shape test where the
    pair before was alike (``CUT_STEADY``). One per stream of frames (it keeps that pair's score)."""

    def __init__(self) -> None:
        self.alike: float | None = None  # the last pair's likeness that could be told

    def __call__(self, grey: np.ndarray, before: np.ndarray | None, level: float | None = None) -> bool:
        if before is None or before.shape != grey.shape:
            return False
        if level is None:
            level = noise_level(picture_change(grey, before))
        alike = likeness(grey, before)
        steady = self.alike is None or self.alike >= CUT_STEADY
        if alike is not None:
            self.alike = alike
        return level >= CUT_LEVEL or (alike is not None and alike < CUT_LIKENESS and steady)


class MaskSmoother:
    def __init__(
        self,
        smooth: float = 0.7,
        still_level: float = 1.0 / 255,
        moving_level: float = 8.0 / 255,
        spread: int = 0,
        mask_motion: float = 0.0,
        hold_after: int = 4,
        reference: bool = True,
        firm: float = 30.0,
        noise_scale: float = 2.0,
        deadband: float = 0.04,
        follow_camera: bool = False,
        colour: bool = False,
        contradicted: int = 6,
    ) -> None:
        """``smooth``: weight kept from the past on a still pixel (0 = off, < 1);
        ``still_level`` / ``moving_level``: picture change (grey, 0-1) up to which a pixel is
        still, and from which it follows at once (linear in between);
        ``spread``: a pixel this many pixels from one whose picture moved counts as moved too;
        ``mask_motion``: a probability change this large counts as motion on its own where the
        picture moved at least a little (0: only the picture decides);
        ``hold_after``: frames of still picture after which the weight kept reaches
        ``1 - (1 - smooth) / firm`` (0.99 for the default 0.7; ``firm`` 20 chosen by measurement
        in the fourth round, where 6, i.e. 0.95, had shipped before, 30 in the eighth);
        ``noise_scale``: both levels are raised by this many times the frame's noise (the 25th
        percentile of the grey change from the frame before: sensor and compression noise, which a
        moving camera barely raises), so a dim, noisy picture counts as still (0: fixed levels;
        2 chosen by measurement in the fifth round).
        ``reference``: compare each frame with the picture the held mask was made from (smoothed
        as the mask is) instead of the frame before, so a slow movement adds up until it is followed;
        ``deadband``: where the picture is still, the mask shown changes only once the smoothed
        mask is this far (0-1) from it, so the small back-and-forth a noisy network leaves in the
        smoothed mask is not shown at all (a slow drift is shown in steps of this size; where the
        picture moved the mask is shown as it is; 0: off; 0.04 chosen by measurement in the sixth
        round);
        ``follow_camera``: where the whole picture moved (a zoom, a pan, a shaking hand: one
        similarity, ``camera_motion``), what is held (the mask, the picture it was made from, what
        is shown) is moved with it first, so a pixel is still or moved relative to the scene, not
        to the screen: the held mask rides along with the person instead of following each flip
        of the network that the camera's motion would otherwise pass as movement; what the motion
        uncovers at the border takes the new probability at once;
        ``colour``: with the frame given (``__call__``'s ``frame``), the picture change is the
        largest of the B, G, R channels' and the grey's, so a person who leaves a background of the
        same grey but another colour is followed;
        ``contradicted``: a still pixel holds a value the new probability contradicts (held above
        half, new below 0.2, or held below half, new above 0.8) for at most this many frames in a
        row, then takes the new one (0: no limit): the network saying the same for that long is not
        flicker (6 chosen by measurement in the eleventh round: the stale person and background
        held against the network fell by 59% at no output flicker cost)."""
        if not 0.0 <= smooth < 1.0:
            raise ValueError("smooth must be in [0, 1)")
        if not 0.0 <= still_level < moving_level:
            raise ValueError("need 0 <= still_level < moving_level")
        self.smooth = smooth
        self.still_level, self.moving_level = still_level, moving_level
        self.spread, self.mask_motion = spread, mask_motion
        self.hold_after = max(1, hold_after)
        self.reference = reference
        if firm < 1.0:
            raise ValueError("firm must be at least 1")
        self.firm = firm
        if noise_scale < 0.0:
            raise ValueError("noise_scale must be at least 0")
        self.noise_scale = noise_scale
        if not 0.0 <= deadband < 1.0:
            raise ValueError("deadband must be in [0, 1)")
        self.deadband = deadband
        self.follow_camera = follow_camera
        self.colour = colour
        self.contradicted = max(0, contradicted)
        self.last_colour: np.ndarray | None = None  # the colour picture the held mask was made from
        self.against: np.ndarray | None = None  # frames in a row the new probability contradicted the held
        self.shown: np.ndarray | None = None  # the mask last shown (with a deadband)
        self.prev_grey: np.ndarray | None = None  # the frame before (the noise estimate)
        self.state: np.ndarray | None = None
        self.last_grey: np.ndarray | None = None
        self.still_for: np.ndarray | None = None  # frames each pixel's picture has been still (capped)
        self.cuts = CutTest()

    @property
    def hold(self) -> float:
        """Weight kept from the past on a pixel still for ``hold_after`` frames (follows ``smooth``,
        which live controls change)."""
        return 1.0 - (1.0 - self.smooth) / self.firm if self.smooth > 0 else 0.0

    def reset(self) -> None:
        """A new stream: as a fresh smoother (the cut test's memory of the last pair too)."""
        self.let_go()
        self.cuts = CutTest()

    def let_go(self) -> None:
        """At a cut: nothing of the last scene is held (the cut test remembers the cut's pair)."""
        self.state = self.last_grey = self.still_for = self.prev_grey = self.shown = None
        self.last_colour = self.against = None

    def moved(self, grey: np.ndarray, last: np.ndarray, noise: float = 0.0) -> np.ndarray:
        """Per pixel, 0 (picture still) to 1 (picture moved); ``noise`` raises both levels."""
        return self.moved_by(picture_change(grey, last), noise)

    def moved_by(self, change: np.ndarray, noise: float = 0.0) -> np.ndarray:
        """``moved`` for a change already measured (the colour's)."""
        if self.spread > 0:
            k = 2 * self.spread + 1
            change = cv2.dilate(change, np.ones((k, k), np.uint8))
        scale = 1.0 / (self.moving_level - self.still_level)
        return np.clip((change - (self.still_level + noise)) * scale, 0.0, 1.0)

    def contradiction(self, prob: np.ndarray) -> np.ndarray:
        """1 where the new probability has contradicted the held mask for ``contradicted`` frames in
        a row (those pixels then follow it), else 0."""
        assert self.state is not None
        held = self.state if self.shown is None or self.shown.shape != prob.shape else self.shown
        against = ((held > 0.5) & (prob < 0.2)) | ((held < 0.5) & (prob > 0.8))
        if self.against is None or self.against.shape != prob.shape:
            self.against = np.zeros(prob.shape, np.int32)
        self.against = np.where(against, self.against + 1, 0).astype(np.int32)
        return (self.against >= self.contradicted).astype(np.float32)

    def change_level(self, grey: np.ndarray | None) -> float | None:
        """The frame's noise level against the frame before (None without one): what tells a cut,
        and, scaled, how far noise raises the still and moving levels."""
        if grey is None or self.prev_grey is None or self.prev_grey.shape != grey.shape:
            return None
        return noise_level(picture_change(grey, self.prev_grey))

    def noise(self, level: float | None) -> float:
        """``noise_scale`` x the frame's noise ``level`` (0 without a frame before or when off)."""
        if self.noise_scale == 0.0 or level is None:
            return 0.0
        return min(NOISE_CAP, self.noise_scale * level)

    def __call__(self, prob: np.ndarray, grey: np.ndarray | None = None, frame: np.ndarray | None = None) -> np.ndarray:
        """``prob``: this frame's probability; ``grey``: the frame in grey 0-1 at the same size
        (without it, e.g. on a first frame, the mask is smoothed as if the picture were still);
        ``frame``: the frame itself (BGR uint8, any size), used with ``colour`` only."""
        prob = prob.astype(np.float32)
        colour = None
        if self.colour and frame is not None and grey is not None and self.smooth > 0.0:
            colour = small_colour(frame, grey.shape)
        level = self.change_level(grey)  # once a frame: the cut test and the noise both use it
        cut = grey is not None and level is not None and self.cuts(grey, self.prev_grey, level)
        if self.smooth > 0.0 and cut:
            self.let_go()  # a new scene: nothing of the last one is held over it, as on a first frame
        resized = grey is not None and self.last_grey is not None and self.last_grey.shape != grey.shape
        if self.state is None or self.state.shape != prob.shape or self.smooth == 0.0 or resized:
            self.state, self.last_grey, self.prev_grey = prob.copy(), grey, grey
            self.shown, self.last_colour, self.against = None, colour, None
            return self.state
        uncovered = self.follow(grey) if self.follow_camera else None
        diff = prob - self.state
        smooth: float | np.ndarray = self.smooth
        motion: float | np.ndarray = 0.0
        if grey is not None and self.last_grey is not None and grey.shape == prob.shape:
            motion = self.moved(grey, self.last_grey, self.noise(level))
            if colour is not None and self.last_colour is not None and self.last_colour.shape == colour.shape:
                motion = np.maximum(motion, self.moved_by(colour_change(colour, self.last_colour), self.noise(level)))
            if self.contradicted:
                motion = np.maximum(motion, self.contradiction(prob))
            if uncovered is not None:
                motion = np.maximum(motion, uncovered)
            if self.mask_motion > 0:  # a large mask change where the picture moved a little
                motion = np.maximum(motion, np.minimum(np.abs(diff) * (1.0 / self.mask_motion), 1.0) * (motion > 0))
            if self.still_for is None or self.still_for.shape != prob.shape:
                self.still_for = np.zeros_like(prob)
            self.still_for = np.where(motion < 0.5, np.minimum(self.still_for + 1, self.hold_after), 0).astype(
                np.float32
            )
            smooth = self.smooth + (self.hold - self.smooth) * (self.still_for * (1.0 / self.hold_after))
        keep = smooth * (1.0 - motion)
        self.state += (1.0 - keep) * diff
        if self.reference and grey is not None and self.last_grey is not None and grey.shape == prob.shape:
            self.last_grey = self.last_grey + (1.0 - keep) * (grey - self.last_grey)
            if colour is not None and self.last_colour is not None and self.last_colour.shape == colour.shape:
                self.last_colour = self.last_colour + (1.0 - keep)[..., None] * (colour - self.last_colour)
            else:
                self.last_colour = colour
        else:
            self.last_grey, self.last_colour = grey, colour
        if grey is not None:
            self.prev_grey = grey
        return self.shown_mask(motion)

    def follow(self, grey: np.ndarray | None) -> np.ndarray | None:
        """Move what is held with the camera where the whole picture moved from the frame before to
        ``grey``; returns the pixels the motion brought in at the border (1), or None."""
        if grey is None or self.prev_grey is None or self.prev_grey.shape != grey.shape:
            return None
        if self.state is None or self.state.shape != grey.shape or self.last_grey is None:
            return None
        matrix = camera_motion(self.prev_grey, grey)
        if matrix is None:
            return None
        self.state = warp(self.state, matrix)
        self.last_grey = warp(self.last_grey, matrix)
        if self.last_colour is not None and self.last_colour.shape[:2] == grey.shape:
            self.last_colour = warp(self.last_colour, matrix)
        if self.shown is not None and self.shown.shape == grey.shape:
            self.shown = warp(self.shown, matrix)
        if self.still_for is not None and self.still_for.shape == grey.shape:
            self.still_for = warp(self.still_for, matrix)
        return brought_in(matrix, grey.shape)

    def shown_mask(self, motion: float | np.ndarray) -> np.ndarray:
        """The smoothed mask through the deadband: taken where it moved past it from what was shown,
        or where the picture moved (``motion`` at least 0.5); elsewhere what was shown stays."""
        assert self.state is not None
        if self.deadband == 0.0:
            return self.state
        if self.shown is None or self.shown.shape != self.state.shape:
            self.shown = self.state.copy()
            return self.shown
        take = (np.abs(self.state - self.shown) > self.deadband) | (np.asarray(motion) >= 0.5)
        np.copyto(self.shown, self.state, where=take)
        return self.shown
