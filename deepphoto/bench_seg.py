"""``deepphoto bench-seg``: LightNet next to MediaPipe's selfie segmenter on the same images.

A benchmark, not a test: accuracy (IoU) and median latency on this machine, in one run.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import onnxruntime

from deepphoto.errors import DeepPhotoError
from deepphoto.eval_seg import evaluate
from deepphoto.frames import parse_size
from deepphoto.metrics import SegScores
from deepphoto.models.seg_data import list_pairs, split_pairs
from deepphoto.segmenter import DEFAULT_INPUT_SIZE, Segmenter


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="folder with images/ and masks/")
    p.add_argument("--split", default="all", help="all, train or val (the fixed split by file name)")
    p.add_argument(
        "--input-sizes",
        default="x".join(map(str, DEFAULT_INPUT_SIZE)),
        help="LightNet input sizes to compare, comma-separated WxH",
    )
    p.add_argument(
        "--backends",
        default="onnx",
        help="LightNet backends, comma-separated, each optionally BACKEND:PRECISION (e.g. onnx,onnx:int8)",
    )
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-peer", action="store_true", help="skip MediaPipe")
    p.add_argument("--json", action="store_true", help="end with one JSON line of all rows")


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


def run(args: argparse.Namespace) -> int:
    pairs = split_pairs(list_pairs(args.data_dir), args.split)
    rows = []
    for choice in args.backends.split(","):
        backend, _, precision = choice.partition(":")
        for size_text in args.input_sizes.split(","):
            size = parse_size(size_text)
            seg = Segmenter(backend, input_size=size, threads=args.threads, precision=precision or "fp32")
            scores, latency = evaluate(seg, pairs)
            rows.append(result_row("LightNet", seg.engine.label, size_text, scores, latency))
    if not args.no_peer:
        try:
            from deepphoto.peers.mediapipe_selfie import MediaPipeSelfie

            peer = MediaPipeSelfie(threads=args.threads)
            scores, latency = evaluate(peer, pairs)
            rows.append(result_row("MediaPipe selfie", peer.backend, "256x256", scores, latency))
        except DeepPhotoError as exc:
            print(f"MediaPipe skipped: {exc}")
    print(
        f"\n{args.data_dir} (split {args.split}), {platform.processor() or platform.machine()}, "
        f"onnxruntime {onnxruntime.__version__}, threads {args.threads or 'default'}"
    )
    print(f"{'model':18} {'backend':11} {'input':8} {'n':>4} {'person IoU':>10} {'pooled':>7} {'mIoU':>6} {'ms':>6}")
    for r in rows:
        print(
            f"{r['model']:18} {r['backend']:11} {r['input']:8} {r['n']:4d} {r['person_iou']:10.4f} "
            f"{r['pooled_iou']:7.4f} {r['miou']:6.4f} {r['latency_ms']:6.2f}"
        )
    if args.json:
        print(json.dumps([{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows]))
    return 0
