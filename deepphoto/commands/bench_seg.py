"""``deepphoto bench-seg``: LightNet next to MediaPipe's selfie segmenter on the same images.

A benchmark, not a test: accuracy (IoU) and median latency on this machine, in one run.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from deepphoto.settings import LIGHTNET_INPUT, parse_size


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="folder with images/ and masks/")
    p.add_argument("--split", default="all", help="all, train or val (the fixed split by file name)")
    p.add_argument(
        "--input-sizes",
        default="x".join(map(str, LIGHTNET_INPUT)),
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


def run(args: argparse.Namespace) -> int:
    import onnxruntime

    from deepphoto.measure.bench_seg import compare_segmenters

    backends = []
    for choice in args.backends.split(","):
        backend, _, precision = choice.partition(":")
        backends.append((backend, precision or "fp32"))
    sizes = [parse_size(text) for text in args.input_sizes.split(",")]
    result = compare_segmenters(args.data_dir, args.split, backends, sizes, args.threads, peer=not args.no_peer)
    if result.peer_skipped is not None:
        print(f"MediaPipe skipped: {result.peer_skipped}")
    print(
        f"\n{args.data_dir} (split {args.split}), {platform.processor() or platform.machine()}, "
        f"onnxruntime {onnxruntime.__version__}, threads {args.threads or 'default'}"
    )
    print(f"{'model':18} {'backend':11} {'input':8} {'n':>4} {'person IoU':>10} {'pooled':>7} {'mIoU':>6} {'ms':>6}")
    for r in result.rows:
        print(
            f"{r['model']:18} {r['backend']:11} {r['input']:8} {r['n']:4d} {r['person_iou']:10.4f} "
            f"{r['pooled_iou']:7.4f} {r['miou']:6.4f} {r['latency_ms']:6.2f}"
        )
    if args.json:
        print(json.dumps([{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in result.rows]))
    return 0
