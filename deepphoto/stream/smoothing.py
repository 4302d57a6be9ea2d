"""Motion-adaptive temporal smoothing of the person probability.

Where the new probability is close to the held one and the picture there did not change (sensor
noise, flicker) the mask moves only a little toward it; where either changed a lot (the person
moved) it takes the new value at once. So still regions stay steady and moving edges do not lag,
the complaint users have of a plain exponential average.
"""

from __future__ import annotations

import numpy as np


class MaskSmoother:
    def __init__(self, smooth: float = 0.7, motion_scale: float = 0.3, image_motion_scale: float = 0.08) -> None:
        """``smooth``: weight kept from the past where nothing moves (0 = off, < 1);
        ``motion_scale``: a probability change this large counts as full motion;
        ``image_motion_scale``: a grey-level change (0-1) this large counts as full motion."""
        if not 0.0 <= smooth < 1.0:
            raise ValueError("smooth must be in [0, 1)")
        self.smooth = smooth
        self.motion_scale = motion_scale
        self.image_motion_scale = image_motion_scale
        self.state: np.ndarray | None = None
        self.last_grey: np.ndarray | None = None

    def reset(self) -> None:
        self.state = self.last_grey = None

    def __call__(self, prob: np.ndarray, grey: np.ndarray | None = None) -> np.ndarray:
        """``prob``: this frame's probability; ``grey``: the frame in grey 0-1 at the same size."""
        prob = prob.astype(np.float32)
        if self.state is None or self.state.shape != prob.shape or self.smooth == 0.0:
            self.state, self.last_grey = prob.copy(), grey
            return self.state
        diff = prob - self.state
        motion = np.abs(diff) * (1.0 / self.motion_scale)
        if grey is not None and self.last_grey is not None and grey.shape == prob.shape:
            motion = np.maximum(motion, np.abs(grey - self.last_grey) * (1.0 / self.image_motion_scale))
        keep = self.smooth * (1.0 - np.minimum(motion, 1.0))
        self.state += (1.0 - keep) * diff
        self.last_grey = grey
        return self.state
