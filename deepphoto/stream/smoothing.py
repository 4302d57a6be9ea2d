"""Motion-adaptive temporal smoothing of the person probability.

Where the new probability is close to the held one (sensor noise, flicker) it moves only a little
toward it; where it differs a lot (the person moved) it takes the new value at once. So still
regions stay steady and moving edges do not lag, unlike a plain exponential average.
"""

from __future__ import annotations

import numpy as np


class MaskSmoother:
    def __init__(self, smooth: float = 0.6, motion_scale: float = 0.25) -> None:
        """``smooth``: weight kept from the past where nothing moves (0 = off, <1);
        ``motion_scale``: a probability change this large counts as full motion."""
        if not 0.0 <= smooth < 1.0:
            raise ValueError("smooth must be in [0, 1)")
        self.smooth = smooth
        self.motion_scale = motion_scale
        self.state: np.ndarray | None = None

    def reset(self) -> None:
        self.state = None

    def __call__(self, prob: np.ndarray) -> np.ndarray:
        prob = prob.astype(np.float32)
        if self.state is None or self.state.shape != prob.shape or self.smooth == 0.0:
            self.state = prob.copy()
            return self.state
        diff = prob - self.state
        motion = np.minimum(np.abs(diff) / self.motion_scale, 1.0)
        keep = self.smooth * (1.0 - motion)
        self.state += (1.0 - keep) * diff
        return self.state
