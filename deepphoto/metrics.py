"""Segmentation metrics: per-image and pooled IoU, two-class mIoU."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """IoU of two boolean masks; 1.0 when both are empty (nothing to find, nothing found)."""
    inter = np.logical_and(pred, truth).sum()
    union = np.logical_or(pred, truth).sum()
    return 1.0 if union == 0 else float(inter / union)


@dataclass
class SegScores:
    """Accumulates a 2x2 confusion matrix over a dataset and the per-image person IoU."""

    confusion: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), np.int64))  # [truth, pred]
    per_image: list[float] = field(default_factory=list)

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
        return score

    @property
    def n(self) -> int:
        return len(self.per_image)

    @property
    def person_iou(self) -> float:
        return float(np.mean(self.per_image)) if self.per_image else float("nan")

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
