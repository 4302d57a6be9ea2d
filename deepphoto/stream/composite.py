"""Per-region compositing: an effect applied to the whole frame, only the background or only the person."""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import REGIONS

__all__ = ["REGIONS", "blend", "check_region", "feather"]


def check_region(region: str) -> str:
    if region not in REGIONS:
        raise DeepPhotoError(f"unknown region {region!r}: choose from {', '.join(REGIONS)}")
    return region


def blend(frame: np.ndarray, effected: np.ndarray, person: np.ndarray, region: str) -> np.ndarray:
    """Mix ``effected`` into ``frame`` where ``region`` is, weighted by the person alpha ``person``."""
    check_region(region)
    if region == "whole":
        return effected
    weight = np.ascontiguousarray(person if region == "person" else 1.0 - person, dtype=np.float32)
    return cv2.blendLinear(effected, frame, weight, 1.0 - weight)


def feather(person: np.ndarray, threshold: float = 0.5, radius: int = 3, softness: float = 0.1) -> np.ndarray:
    """A soft alpha: probabilities ramped around ``threshold``, then blurred by ``radius`` pixels."""
    lo, hi = threshold - softness, threshold + softness
    alpha = np.clip((person - lo) / max(hi - lo, 1e-6), 0.0, 1.0).astype(np.float32)
    if radius > 0:
        k = 2 * radius + 1
        alpha = cv2.GaussianBlur(alpha, (k, k), 0)
    return alpha
