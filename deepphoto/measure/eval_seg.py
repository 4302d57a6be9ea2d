"""Person IoU, boundary IoU, pooled IoU, mIoU, latency and size of a segmenter over a mask dataset
(``deepphoto eval-seg``): a folder of images/ and masks/, or one of the shared labelled sets."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from tqdm import tqdm

from deepphoto import datasets
from deepphoto.errors import DeepPhotoError
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
    boundary_iou: float = float("nan")  # mean over images, band 2% of the diagonal

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "person_iou": round(self.person_iou, 4),
            "boundary_iou": round(self.boundary_iou, 4),
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


def set_pairs(name: str, split: str = "val", root: Path | None = None) -> list[tuple[Path, Path]]:
    """(image, mask) pairs of a shared labelled set (``deepphoto.datasets``) whose masks mark
    people: ``hands`` marks only hands, where person IoU means nothing."""
    labelled = datasets.labelled_set(name)
    if labelled.meaning == datasets.HANDS_ONLY:
        raise DeepPhotoError(
            f"{name}: its masks mark only the hands, so person IoU means nothing there "
            "('deepphoto label-teachers --report' scores hand recall)"
        )
    pairs = datasets.pairs(name, split, root)
    if not pairs:
        raise DeepPhotoError(f"{name}: no {split} images")
    return pairs


def evaluate_dataset(
    data_dir: Path | None,
    split: str = "all",
    backend: str = "onnx",
    precision: str = "fp32",
    weights: Path | None = None,
    input_size: tuple[int, int] = LIGHTNET_INPUT,
    threshold: float = 0.5,
    threads: int | None = None,
    progress: bool = True,
    set_name: str | None = None,
) -> SegEvaluation:
    """LightNet on ``backend`` / ``precision`` over ``data_dir``'s images/ and masks/, or over the
    shared labelled set ``set_name`` (``split``: all, train or val): scores, median latency and
    model size."""
    if (data_dir is None) == (set_name is None):
        raise DeepPhotoError("give a DATA_DIR or --set NAME (one of them)")
    if set_name:
        pairs = set_pairs(set_name, split)
    else:
        every = list_pairs(data_dir)
        pairs = split_pairs(every, split)
        if not pairs:  # a score over no image is no score (it read mIoU 1.0 and NaN)
            raise DeepPhotoError(f"{data_dir}: no images in the {split} split ({len(every)} in all)")
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
        scores.boundary_iou,
    )
