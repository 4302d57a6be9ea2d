"""Per-region compositing: an effect applied to the whole frame, the background or the person."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError

REGIONS = ("whole", "background", "person")
Effect = Callable[[np.ndarray], np.ndarray]


def blend(frame: np.ndarray, effected: np.ndarray, person: np.ndarray, region: str) -> np.ndarray:
    """Mix ``effected`` into ``frame`` where ``region`` is, by the person probability ``person``."""
    if region == "whole":
        return effected
    if region == "background":
        weight = 1.0 - person
    elif region == "person":
        weight = person
    else:
        raise DeepPhotoError(f"unknown region {region!r}: choose from {', '.join(REGIONS)}")
    w = weight[..., None].astype(np.float32)
    out = frame.astype(np.float32) + w * (effected.astype(np.float32) - frame.astype(np.float32))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def feather(person: np.ndarray, threshold: float = 0.5, radius: int = 3, softness: float = 0.1) -> np.ndarray:
    """A soft alpha: probabilities ramped around ``threshold``, then blurred by ``radius`` pixels."""
    lo, hi = threshold - softness, threshold + softness
    alpha = np.clip((person - lo) / max(hi - lo, 1e-6), 0.0, 1.0).astype(np.float32)
    if radius > 0:
        k = 2 * radius + 1
        alpha = cv2.GaussianBlur(alpha, (k, k), 0)
    return alpha


def blur_effect(strength: int = 21) -> Effect:
    k = strength | 1

    def apply(frame: np.ndarray) -> np.ndarray:
        # Downscale, blur, upscale: the same look as a wide kernel at a fraction of the cost.
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (k // 4 | 1, k // 4 | 1), 0)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)

    return apply


def grey_effect(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


EFFECTS: dict[str, Callable[[], Effect]] = {
    "blur": blur_effect,
    "grey": lambda: grey_effect,
}


def make_effect(name: str) -> Effect:
    if name not in EFFECTS:
        raise DeepPhotoError(f"unknown effect {name!r}: choose from {', '.join(sorted(EFFECTS))}")
    return EFFECTS[name]()
