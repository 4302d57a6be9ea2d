"""``deepphoto eval-seg``: person IoU, pooled IoU, mIoU, latency and size over a mask dataset."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from tqdm import tqdm

from deepphoto.engines.base import BACKENDS
from deepphoto.frames import parse_size
from deepphoto.metrics import SegScores
from deepphoto.models.seg_data import list_pairs, read_pair, split_pairs
from deepphoto.segmenter import DEFAULT_INPUT_SIZE, Segmenter

WARMUP_RUNS = 5


class PersonSegmenter(Protocol):
    """What evaluation needs: the network's own output, and a map of the frame's size."""

    def low_res(self, frame: np.ndarray) -> np.ndarray: ...

    def __call__(self, frame: np.ndarray) -> np.ndarray: ...


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="folder with images/ and masks/")
    p.add_argument("--backend", default="onnx", help=f"one of {', '.join(BACKENDS)} (default onnx)")
    p.add_argument("--precision", default="fp32", help="fp32, fp16 or int8 (int8: a cached, gated engine)")
    p.add_argument("--weights", type=Path, default=None, help="LightNet .safetensors (or .onnx for onnx)")
    p.add_argument("--input-size", default="x".join(map(str, DEFAULT_INPUT_SIZE)), help="model input WxH")
    p.add_argument("--split", default="all", help="all, or the fixed train / val split by file name")
    p.add_argument("--threshold", type=float, default=0.5, help="person where probability > this")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    p.add_argument("--json", action="store_true", help="end with one JSON line of the results")


@dataclass
class SegEvaluation:
    n: int
    person_iou: float
    pooled_iou: float
    miou: float
    latency_ms: float
    size_mb: float

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "person_iou": round(self.person_iou, 4),
            "pooled_iou": round(self.pooled_iou, 4),
            "miou": round(self.miou, 4),
            "latency_ms": round(self.latency_ms, 2),
            "size_mb": round(self.size_mb, 2),
        }


def model_size_mb(segmenter: Segmenter, weights: Path | None) -> float:
    """Size of the file the backend loads (ONNX file, or the safetensors weights)."""
    path = getattr(segmenter.engine, "path", None)
    if path is None:
        from deepphoto.models.lightnet_io import SHIPPED_LIGHTNET

        path = weights or SHIPPED_LIGHTNET
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


def run(args: argparse.Namespace) -> int:
    pairs = split_pairs(list_pairs(args.data_dir), args.split)
    segmenter = Segmenter(
        args.backend, args.weights, parse_size(args.input_size), args.threads, precision=args.precision
    )
    scores, latency = evaluate(segmenter, pairs, args.threshold)
    result = SegEvaluation(
        scores.n, scores.person_iou, scores.pooled_iou, scores.miou, latency, model_size_mb(segmenter, args.weights)
    )
    w, h = segmenter.input_size
    print(f"dataset     {args.data_dir} (split {args.split})")
    print(f"backend     {segmenter.engine.label}, input {w}x{h}")
    print(f"images      {result.n}")
    print(f"person IoU  {result.person_iou:.4f} (mean over images)")
    print(f"pooled IoU  {result.pooled_iou:.4f} (all pixels together)")
    print(f"mIoU        {result.miou:.4f} (person and background)")
    print(f"latency     {result.latency_ms:.2f} ms median per frame at {w}x{h}")
    print(f"model size  {result.size_mb:.2f} MB")
    if args.json:
        print(json.dumps(result.as_dict()))
    return 0
