"""LightNet next to MediaPipe's selfie segmenter on the same images (``deepphoto bench-seg``).

A benchmark, not a test: accuracy (IoU) and median latency on this machine, in one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deepphoto.errors import DeepPhotoError
from deepphoto.measure.eval_seg import evaluate
from deepphoto.metrics import SegScores
from deepphoto.segmenters.lightnet import LightNetSegmenter
from deepphoto.settings import LIGHTNET_INPUT
from deepphoto.training.seg_data import list_pairs, split_pairs


@dataclass
class SegBenchmark:
    rows: list[dict] = field(default_factory=list)  # one per model, engine and input size (see result_row)
    peer_skipped: str | None = None  # why MediaPipe was left out, when it was asked for and could not run


def result_row(model: str, backend: str, size: str, scores: SegScores, latency: float) -> dict:
    return {
        "model": model,
        "backend": backend,
        "input": size,
        "n": scores.n,
        "person_iou": scores.person_iou,
        "pooled_iou": scores.pooled_iou,
        "miou": scores.miou,
        "latency_ms": latency,
    }


def compare_segmenters(
    data_dir: Path,
    split: str = "all",
    backends: Sequence[tuple[str, str]] = (("onnx", "fp32"),),
    input_sizes: Sequence[tuple[int, int]] = (LIGHTNET_INPUT,),
    threads: int | None = None,
    peer: bool = True,
) -> SegBenchmark:
    """LightNet for every (backend, precision) and input size (width, height) over ``data_dir``'s
    images/ and masks/ (``split``: all, train or val), then MediaPipe's selfie segmenter if ``peer``."""
    pairs = split_pairs(list_pairs(data_dir), split)
    result = SegBenchmark()
    for backend, precision in backends:
        for size in input_sizes:
            seg = LightNetSegmenter(backend, input_size=size, threads=threads, precision=precision)
            scores, latency = evaluate(seg, pairs)
            result.rows.append(result_row("LightNet", seg.engine.label, f"{size[0]}x{size[1]}", scores, latency))
    if peer:
        try:
            from deepphoto.segmenters.mediapipe import MediaPipeSegmenter

            mediapipe = MediaPipeSegmenter(threads=threads)
            scores, latency = evaluate(mediapipe, pairs)
            result.rows.append(result_row("MediaPipe selfie", mediapipe.backend, "256x256", scores, latency))
        except DeepPhotoError as exc:
            result.peer_skipped = str(exc)
    return result
