"""``deepphoto eval-seg``: person IoU, pooled IoU, mIoU, latency and size over a mask dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from deepphoto.commands.options import count, real, size
from deepphoto.settings import BACKENDS, LIGHTNET_INPUT


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data_dir", type=Path, nargs="?", metavar="DATA_DIR", help="folder with images/ and masks/ (or give --set)"
    )
    p.add_argument(
        "--set",
        dest="set_name",
        metavar="NAME",
        help="a shared labelled set instead of DATA_DIR: portraits, eg-portraits, selfies, fashion "
        "(under $DEEPPHOTO_SHARED_DATA, default ../shared/data)",
    )
    p.add_argument("--backend", default="onnx", help=f"one of {', '.join(BACKENDS)} (default onnx)")
    p.add_argument(
        "--precision", default="fp32", help="fp32, fp16 or int8 (default fp32; int8: a cached, gated engine)"
    )
    p.add_argument("--weights", type=Path, default=None, help="LightNet .safetensors (or .onnx for onnx)")
    p.add_argument(
        "--input-size",
        type=size("--input-size", 2048),
        default="x".join(map(str, LIGHTNET_INPUT)),
        help=f"model input WxH (default {'x'.join(map(str, LIGHTNET_INPUT))})",
    )
    p.add_argument("--split", default="all", help="all, or the fixed train / val split by file name (default all)")
    p.add_argument(
        "--threshold",
        type=real("--threshold", 0, 1, low_open=True, high_open=True),
        default=0.5,
        help="person where probability > this (0-1, default 0.5)",
    )
    p.add_argument(
        "--threads", type=count("--threads", 1, 256), default=None, help="inference threads (default: all cores)"
    )
    p.add_argument("--json", action="store_true", help="end with one JSON line of the results")


def run(args: argparse.Namespace) -> int:
    from deepphoto.measure.eval_seg import evaluate_dataset

    result = evaluate_dataset(
        args.data_dir,
        split=args.split,
        backend=args.backend,
        precision=args.precision,
        weights=args.weights,
        input_size=args.input_size,
        threshold=args.threshold,
        threads=args.threads,
        set_name=args.set_name,
    )
    w, h = result.input_size
    print(f"dataset     {args.set_name or args.data_dir} (split {args.split})")
    print(f"backend     {result.engine}, input {w}x{h}")
    print(f"images      {result.n}")
    print(f"person IoU  {result.person_iou:.4f} (mean over images)")
    print(f"boundary IoU {result.boundary_iou:.4f} (mean over images; band 2% of the diagonal)")
    print(f"pooled IoU  {result.pooled_iou:.4f} (all pixels together)")
    print(f"mIoU        {result.miou:.4f} (person and background)")
    print(f"latency     {result.latency_ms:.2f} ms median per frame at {w}x{h}")
    print(f"model size  {result.size_mb:.2f} MB")
    if args.json:
        print(json.dumps(result.as_dict()))
    return 0
