"""Segmentation metrics: per-image and pooled IoU, two-class mIoU, boundary IoU; a paired
bootstrap interval for the difference of two models' per-image scores.

Boundary IoU follows Cheng et al. 2021 (their ``mask_to_boundary``): each mask's inner band of
width d = 2% of the image diagonal (the mask minus its erosion by d, the frame's edge counted as an
edge), then the IoU of the two bands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

BAND_RATIO = 0.02


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """IoU of two boolean masks; 1.0 when both are empty (nothing to find, nothing found)."""
    inter = np.logical_and(pred, truth).sum()
    union = np.logical_or(pred, truth).sum()
    return 1.0 if union == 0 else float(inter / union)


def mask_to_boundary(mask: np.ndarray, ratio: float = BAND_RATIO) -> np.ndarray:
    """The inner band of a boolean mask, width ``ratio`` of the image diagonal (at least 1 pixel)."""
    h, w = mask.shape
    d = max(1, round(ratio * np.hypot(h, w)))
    m = mask.astype(np.uint8)
    padded = cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=d)[1 : h + 1, 1 : w + 1]
    return (m - eroded) > 0


def boundary_iou(pred: np.ndarray, truth: np.ndarray, ratio: float = BAND_RATIO) -> float:
    """IoU of the two masks' inner bands (Cheng et al. 2021); 1.0 when both masks are empty."""
    return iou(mask_to_boundary(pred, ratio), mask_to_boundary(truth, ratio))


@dataclass
class SegScores:
    """Accumulates a 2x2 confusion matrix over a dataset, the per-image person IoU and the
    per-image boundary IoU."""

    confusion: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), np.int64))  # [truth, pred]
    per_image: list[float] = field(default_factory=list)
    per_image_boundary: list[float] = field(default_factory=list)

    def add(self, pred: np.ndarray, truth: np.ndarray) -> float:
        pred, truth = pred.astype(bool), truth.astype(bool)
        if pred.shape != truth.shape:
            raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape")
        tp = int(np.logical_and(pred, truth).sum())
        fp = int(pred.sum()) - tp
        fn = int(truth.sum()) - tp
        tn = pred.size - tp - fp - fn
        self.confusion += np.array([[tn, fp], [fn, tp]])
        score = iou(pred, truth)
        self.per_image.append(score)
        self.per_image_boundary.append(boundary_iou(pred, truth))
        return score

    @property
    def n(self) -> int:
        return len(self.per_image)

    @property
    def person_iou(self) -> float:
        return float(np.mean(self.per_image)) if self.per_image else float("nan")

    @property
    def boundary_iou(self) -> float:
        """Mean over images of the boundary IoU (band 2% of the diagonal)."""
        return float(np.mean(self.per_image_boundary)) if self.per_image_boundary else float("nan")

    def class_iou(self, cls: int) -> float:
        c = self.confusion
        inter = c[cls, cls]
        union = c[cls, :].sum() + c[:, cls].sum() - inter
        return float(inter / union) if union else 1.0

    @property
    def pooled_iou(self) -> float:
        return self.class_iou(1)

    @property
    def miou(self) -> float:
        return (self.class_iou(0) + self.class_iou(1)) / 2


def paired_bootstrap(
    a: list[float] | np.ndarray, b: list[float] | np.ndarray, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean of b - a, low, high): the difference of two models' mean per-image scores on the same
    images, with a 95% percentile interval from resampling the images with replacement (both
    models' scores of an image stay together)."""
    first, second = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if first.ndim != 1 or first.shape != second.shape or first.size == 0:
        raise ValueError("need two equally long, non-empty lists of per-image scores")
    diff = second - first
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, (resamples, diff.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)
