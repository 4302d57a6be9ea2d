"""Per-region compositing: an effect applied to the whole frame, only the background or only the person."""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import REGIONS

__all__ = ["REGIONS", "blend", "check_region", "feather", "with_soft_edge"]


def check_region(region: str) -> str:
    if region not in REGIONS:
        raise DeepPhotoError(f"unknown region {region!r}: choose from {', '.join(REGIONS)}")
    return region


SOFT_EDGE_BAND = 0.01  # how far from the person a cut-out's soft edge is theirs, as a share of the diagonal


def with_soft_edge(person: np.ndarray, own_alpha: np.ndarray, band: float = SOFT_EDGE_BAND) -> np.ndarray:
    """``person`` (0-1) taken as person where the picture is partly clear (``own_alpha``, uint8,
    between 0 and 255) within ``band`` of the diagonal from the person: a cut-out's soft edge (hair,
    shoulders) belongs to the cut-out, and its transparency already makes it soft. The mask, made
    from the picture laid on white, stops short of it, and painting those visible pixels as
    background gave them the colour of the painted white around them (a dark fringe round the hair
    with a dark style)."""
    partial = (own_alpha > 0) & (own_alpha < 255)
    if not partial.any():
        return person
    h, w = person.shape[:2]
    radius = max(4, round(band * float(np.hypot(h, w))))  # at least a few pixels on a small picture
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    near = cv2.dilate((person > 0.02).astype(np.uint8), kernel).astype(bool)
    return np.where(near & partial, np.float32(1.0), person).astype(np.float32)


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
    if radius > 0:  # blurred, then held in [0, 1] (the kernel's float sum can overshoot by an ulp)
        alpha = np.clip(_soften(alpha, radius), 0.0, 1.0)
    return alpha


def _soften(alpha: np.ndarray, radius: int) -> np.ndarray:
    """Gaussian blur with OpenCV's kernel of 2*radius+1 pixels. A wide one (up to --feather 64)
    is done on a copy scaled down by radius/8 and scaled back: the same soft edge (within 2% of
    the alpha range) at a constant cost, not one that grows with the radius."""
    step = radius // 8
    h, w = alpha.shape[:2]
    if step < 3 or min(h, w) // step < 16:
        k = 2 * radius + 1
        return cv2.GaussianBlur(alpha, (k, k), 0)
    sigma = 0.3 * (radius - 1) + 0.8  # what OpenCV derives from the kernel size 2*radius+1
    small = cv2.resize(alpha, (max(1, round(w / step)), max(1, round(h / step))), interpolation=cv2.INTER_AREA)
    # at the edges a reduced pixel stands for `step` pixels: mirror whole pixels, as the full size would
    blurred = cv2.GaussianBlur(small, (17, 17), sigma / step, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR)
