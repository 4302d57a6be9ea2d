"""What a user would pick instead, measured on the same frames in the same run: MediaPipe's selfie
segmenter (speed, agreement with LightNet, raw flicker) and the classic Johnson et al. style
network (cost; random weights). Plus person IoU on the validation portraits where present."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import small_grey
from deepphoto.measure.stability import flicker
from deepphoto.metrics import iou
from deepphoto.segmenters.lightnet import LightNetSegmenter


def _timed(fn: Callable[[np.ndarray], np.ndarray], frames: list[np.ndarray]) -> tuple[list[np.ndarray], list[float]]:
    outs, times = [], []
    for f in frames[:3]:
        fn(f)  # warm-up
    for f in frames:
        t = time.perf_counter()
        outs.append(fn(f))
        times.append((time.perf_counter() - t) * 1000)
    return outs, times


def _stats(times: list[float]) -> dict[str, float]:
    return {"median_ms": round(float(np.median(times)), 2), "p95_ms": round(float(np.percentile(times, 95)), 2)}


def segmentation_peers(frames: list[np.ndarray], lightnet: LightNetSegmenter, threads: int | None) -> list[dict]:
    """LightNet and MediaPipe on the same frames: network latency (input size, preprocessing
    included), raw mask flicker, and MediaPipe's agreement (IoU) with LightNet's masks."""
    rows = []
    ln_masks, ln_times = _timed(lightnet.low_res, frames)
    grey = [small_grey(f, ln_masks[0].shape[::-1]) for f in frames]
    rows.append(
        {
            "model": "LightNet",
            "engine": lightnet.engine.label,
            **_stats(ln_times),
            "raw_flicker": round(flicker(ln_masks, grey), 5),
            "agreement_iou": 1.0,
        }
    )
    try:
        from deepphoto.segmenters.mediapipe import MediaPipeSegmenter

        peer = MediaPipeSegmenter(threads=threads)
    except DeepPhotoError as exc:
        rows.append({"model": "MediaPipe selfie", "skipped": str(exc)})
        return rows
    mp_masks, mp_times = _timed(peer.low_res, frames)
    size = mp_masks[0].shape[::-1]
    grey = [small_grey(f, size) for f in frames]
    ious = [iou(cv2.resize(a, size, interpolation=cv2.INTER_LINEAR) > 0.5, b > 0.5) for a, b in zip(ln_masks, mp_masks)]
    rows.append(
        {
            "model": "MediaPipe selfie",
            "engine": "litert:fp32",
            **_stats(mp_times),
            "raw_flicker": round(flicker(mp_masks, grey), 5),
            "agreement_iou": round(float(np.mean(ious)), 4),
        }
    )
    return rows


def style_peers(frame: np.ndarray) -> list[dict]:
    """Painting one frame at its full size: StyleNet (ONNX Runtime, float) against the classic
    architecture (random weights, the same runtime)."""
    from deepphoto.models.shipped import style_names
    from deepphoto.stylizer import Stylizer

    rows = []
    stylizer = Stylizer(style_names()[0], backend="onnx", precision="fp32")
    _, times = _timed(stylizer, [frame] * 10)
    h, w = frame.shape[:2]
    rows.append({"model": "StyleNet (ours)", "size": f"{w}x{h}", **_stats(times)})
    try:
        from deepphoto.measure.eval_style import classic_latency_ms

        rows.append(
            {"model": "Johnson et al. (classic)", "size": f"{w}x{h}", "median_ms": round(classic_latency_ms(frame), 1)}
        )
    except ImportError as exc:
        rows.append({"model": "Johnson et al. (classic)", "skipped": f"needs torch to export it ({exc})"})
    return rows


def accuracy(portraits: Path, choices: list[tuple[str, str]], threads: int | None) -> list[dict]:
    """Person IoU on the validation portraits for each LightNet backend:precision and MediaPipe."""
    from deepphoto.measure.eval_seg import evaluate
    from deepphoto.training.seg_data import list_pairs, split_pairs

    if not (portraits / "images").is_dir():
        return []
    pairs = split_pairs(list_pairs(portraits), "val")
    rows = []
    for backend, precision in choices:
        seg = LightNetSegmenter(backend, threads=threads, precision=precision)
        if any(r["engine"] == seg.engine.label for r in rows):  # 'auto' resolves to one already measured
            continue
        scores, _ = evaluate(seg, pairs, progress=False)
        rows.append(_accuracy_row("LightNet", seg.engine.label, scores))
    try:
        from deepphoto.segmenters.mediapipe import MediaPipeSegmenter

        scores, _ = evaluate(MediaPipeSegmenter(threads=threads), pairs, progress=False)
        rows.append(_accuracy_row("MediaPipe selfie", "litert:fp32", scores))
    except DeepPhotoError:
        pass
    return rows


def _accuracy_row(model: str, engine: str, scores: object) -> dict:
    return {
        "model": model,
        "engine": engine,
        "images": scores.n,
        "person_iou": round(scores.person_iou, 4),
        "pooled_iou": round(scores.pooled_iou, 4),
        "miou": round(scores.miou, 4),
    }
