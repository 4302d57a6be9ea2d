"""Person IoU, pooled IoU, mIoU, latency and size of a segmenter over a mask dataset (``deepphoto eval-seg``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from tqdm import tqdm

from deepphoto.metrics import SegScores
from deepphoto.segmenters.lightnet import LightNetSegmenter
from deepphoto.settings import LIGHTNET_INPUT
from deepphoto.training.seg_data import list_pairs, read_pair, split_pairs

WARMUP_RUNS = 5


class PersonSegmenter(Protocol):
    """What evaluation needs: the network's own output, and a map of the frame's size."""

    def low_res(self, frame: np.ndarray) -> np.ndarray: ...

    def __call__(self, frame: np.ndarray) -> np.ndarray: ...


@dataclass
class SegEvaluation:
    n: int
    person_iou: float
    pooled_iou: float
    miou: float
    latency_ms: float
    size_mb: float
    engine: str = ""  # the engine's label, e.g. 'onnx:fp32'
    input_size: tuple[int, int] = LIGHTNET_INPUT  # the network's input (width, height)

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "person_iou": round(self.person_iou, 4),
            "pooled_iou": round(self.pooled_iou, 4),
            "miou": round(self.miou, 4),
            "latency_ms": round(self.latency_ms, 2),
            "size_mb": round(self.size_mb, 2),
        }


def model_size_mb(segmenter: LightNetSegmenter, weights: Path | None) -> float:
    """Size of the file the backend loads (ONNX file, or the safetensors weights)."""
    path = getattr(segmenter.engine, "path", None)
    if path is None:
        from deepphoto.models.shipped import SHIPPED

        path = weights or SHIPPED["lightnet"]
    return Path(path).stat().st_size / 1e6


def evaluate(
    segmenter: PersonSegmenter, pairs: list[tuple[Path, Path]], threshold: float = 0.5, progress: bool = True
) -> tuple[SegScores, float]:
    """Scores over ``pairs`` and the median engine latency (ms) at the model input size."""
    scores = SegScores()
    times = []
    for i, (img_path, mask_path) in enumerate(tqdm(pairs, desc="eval-seg", unit="img", disable=not progress)):
        img, truth = read_pair(img_path, mask_path)
        if i == 0:
            for _ in range(WARMUP_RUNS):
                segmenter.low_res(img)
        t = time.perf_counter()
        prob = segmenter.low_res(img)  # timed alone: the network at its input size
        times.append(time.perf_counter() - t)
        full = cv2.resize(prob, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
        scores.add(full > threshold, truth)
    return scores, float(np.median(times) * 1000)


def evaluate_dataset(
    data_dir: Path,
    split: str = "all",
    backend: str = "onnx",
    precision: str = "fp32",
    weights: Path | None = None,
    input_size: tuple[int, int] = LIGHTNET_INPUT,
    threshold: float = 0.5,
    threads: int | None = None,
    progress: bool = True,
) -> SegEvaluation:
    """LightNet on ``backend`` / ``precision`` over ``data_dir``'s images/ and masks/ (``split``: all,
    train or val): scores, median latency and model size."""
    pairs = split_pairs(list_pairs(data_dir), split)
    segmenter = LightNetSegmenter(backend, weights, input_size, threads, precision=precision)
    scores, latency = evaluate(segmenter, pairs, threshold, progress)
    return SegEvaluation(
        scores.n,
        scores.person_iou,
        scores.pooled_iou,
        scores.miou,
        latency,
        model_size_mb(segmenter, weights),
        segmenter.engine.label,
        segmenter.input_size,
    )
