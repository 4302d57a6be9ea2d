"""Motion-adaptive temporal smoothing of the person probability.

Where the picture did not change (sensor noise, network flicker) the mask moves only a little
toward the new probability, and the longer a pixel's picture stays still the more firmly its mask
is held; where the picture changed (the person moved) the mask takes the new value at once. So
still regions stay steady and moving edges do not lag, the complaint users have of a plain
exponential average. A probability that flips completely still gets through half-way at once.

Tuned with ``deepphoto bench`` on the demo footage and the webcam-like clips (see
docs/benchmark): still-scene flicker less than half of the raw masks', edges trailing by at most
half a frame.
"""

from __future__ import annotations

import numpy as np


class MaskSmoother:
    def __init__(
        self,
        smooth: float = 0.7,
        motion_scale: float = 2.0,
        image_motion_scale: float = 0.08,
        hold_after: int = 4,
    ) -> None:
        """``smooth``: weight kept from the past where nothing moves (0 = off, < 1);
        ``motion_scale``: a probability change this large counts as full motion;
        ``image_motion_scale``: a grey-level change (0-1) this large counts as full motion;
        ``hold_after``: frames of still picture after which the weight kept reaches
        ``1 - (1 - smooth) / 6`` (0.95 for the default 0.7)."""
        if not 0.0 <= smooth < 1.0:
            raise ValueError("smooth must be in [0, 1)")
        self.smooth = smooth
        self.motion_scale = motion_scale
        self.image_motion_scale = image_motion_scale
        self.hold_after = max(1, hold_after)
        self.hold = 1.0 - (1.0 - smooth) / 6.0 if smooth > 0 else 0.0
        self.state: np.ndarray | None = None
        self.last_grey: np.ndarray | None = None
        self.still_for: np.ndarray | None = None  # frames each pixel's picture has been still (capped)

    def reset(self) -> None:
        self.state = self.last_grey = self.still_for = None

    def __call__(self, prob: np.ndarray, grey: np.ndarray | None = None) -> np.ndarray:
        """``prob``: this frame's probability; ``grey``: the frame in grey 0-1 at the same size."""
        prob = prob.astype(np.float32)
        if self.state is None or self.state.shape != prob.shape or self.smooth == 0.0:
            self.state, self.last_grey = prob.copy(), grey
            return self.state
        diff = prob - self.state
        motion = np.abs(diff) * (1.0 / self.motion_scale)
        smooth: float | np.ndarray = self.smooth
        if grey is not None and self.last_grey is not None and grey.shape == prob.shape:
            image_motion = np.abs(grey - self.last_grey) * (1.0 / self.image_motion_scale)
            motion = np.maximum(motion, image_motion)
            still = image_motion < 0.5
            if self.still_for is None or self.still_for.shape != prob.shape:
                self.still_for = np.zeros_like(prob)
            self.still_for = np.where(still, np.minimum(self.still_for + 1, self.hold_after), 0).astype(np.float32)
            smooth = self.smooth + (self.hold - self.smooth) * (self.still_for * (1.0 / self.hold_after))
        keep = smooth * (1.0 - np.minimum(motion, 1.0))
        self.state += (1.0 - keep) * diff
        self.last_grey = grey
        return self.state
