"""``deepphoto bench-seg``: LightNet next to MediaPipe's selfie segmenter on the same images.

A benchmark, not a test: accuracy (IoU) and median latency on this machine, in one run.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from deepphoto.commands.options import count, sizes
from deepphoto.errors import DeepPhotoError
from deepphoto.settings import LIGHTNET_INPUT, counted


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data_dir", type=Path, nargs="?", metavar="DATA_DIR", help="folder with images/ and masks/ (or give --sets)"
    )
    p.add_argument(
        "--sets",
        type=lambda t: [v for v in t.split(",") if v],
        default=None,
        metavar="NAMES",
        help="shared labelled sets instead of DATA_DIR, e.g. portraits,eg-portraits,selfies,fashion: one "
        "table per set of LightNet (default: float32 and INT8), MediaPipe and RVM (the 'peers' extra)",
    )
    p.add_argument(
        "--split", default=None, help="all, train or val (the fixed split by file name; default: all, val with --sets)"
    )
    p.add_argument(
        "--weights",
        type=Path,
        action="append",
        default=None,
        help="LightNet .safetensors (default: shipped); repeat to compare several in one run, "
        "'shipped' names the shipped weights",
    )
    p.add_argument(
        "--input-sizes",
        type=sizes("--input-sizes", 2048),
        default="x".join(map(str, LIGHTNET_INPUT)),
        help=f"LightNet input sizes to compare, comma-separated WxH (default {'x'.join(map(str, LIGHTNET_INPUT))})",
    )
    p.add_argument(
        "--backends",
        default=None,
        help="LightNet backends, comma-separated, each optionally BACKEND:PRECISION (default: onnx; "
        "onnx,onnx:int8 with --sets)",
    )
    p.add_argument("--threads", type=count("--threads", 1, 256), default=None, help="inference threads")
    p.add_argument(
        "--no-peers",
        "--no-peer",  # the spelling bench-seg had: both commands take both
        dest="no_peer",
        action="store_true",
        help="skip the peers (MediaPipe; with --sets, MediaPipe and RVM)",
    )
    p.add_argument("--json", action="store_true", help="end with one JSON line of all rows")


def run(args: argparse.Namespace) -> int:
    import onnxruntime

    from deepphoto.measure.bench_seg import compare_segmenters

    if (args.data_dir is None) == (args.sets is None):
        raise DeepPhotoError("give a DATA_DIR or --sets NAMES (one of them)")
    backends = []
    for choice in (args.backends or ("onnx,onnx:int8" if args.sets is not None else "onnx")).split(","):
        backend, _, precision = choice.partition(":")
        backends.append((backend, precision or "fp32"))
    if args.sets is not None:
        return run_sets(args, backends)
    args.split = args.split or "all"
    result = compare_segmenters(
        args.data_dir,
        args.split,
        backends,
        args.input_sizes,
        args.threads,
        peer=not args.no_peer,
        weights=args.weights or [None],
    )
    if result.peer_skipped is not None:
        print(f"MediaPipe skipped: {result.peer_skipped}")
    print(
        f"\n{args.data_dir} (split {args.split}), {platform.processor() or platform.machine()}, "
        f"onnxruntime {onnxruntime.__version__}, threads {args.threads or 'default'}"
    )
    wide = max(18, *(len(r["model"]) for r in result.rows))
    print(
        f"{'model':{wide}} {'backend':11} {'input':8} {'n':>4} {'person IoU':>10} {'pooled':>7} {'mIoU':>6} {'ms':>6}"
    )
    for r in result.rows:
        print(
            f"{r['model']:{wide}} {r['backend']:11} {r['input']:8} {r['n']:4d} {r['person_iou']:10.4f} "
            f"{r['pooled_iou']:7.4f} {r['miou']:6.4f} {r['latency_ms']:6.2f}"
        )
    if args.json:
        print(json.dumps([_json_row(r) for r in result.rows]))
    return 0


def run_sets(args: argparse.Namespace, backends: list[tuple[str, str]]) -> int:
    """``--sets``: one markdown table per set, every model on the same images, at --threads."""
    import onnxruntime

    from deepphoto.measure.bench_seg import PEERS, compare_on_sets, differences

    split = args.split or "val"
    threads = args.threads or 2
    results = compare_on_sets(
        args.sets, split, backends, args.input_sizes, threads, () if args.no_peer else PEERS, args.weights or [None]
    )
    print(
        f"\n{split} splits, {platform.processor() or platform.machine()}, onnxruntime {onnxruntime.__version__}, "
        f"{threads} threads; latency: median of the model alone at its input"
    )
    for set_name, bench in results.items():
        for peer, why in bench.skipped.items():
            print(f"{peer} skipped: {why}")
        n = bench.rows[0]["n"] if bench.rows else 0
        print(f"\n{set_name} ({split}, {counted(n, 'image')})\n")
        print("| model | engine | input | person IoU | boundary IoU | pooled IoU | median ms |")
        print("|---|---|---|---|---|---|---|")
        for r in bench.rows:
            print(
                f"| {r['model']} | {r['backend']} | {r['input']} | {r['person_iou']:.3f} | {r['boundary_iou']:.3f} "
                f"| {r['pooled_iou']:.3f} | {r['latency_ms']:.1f} |"
            )
        changed = differences(bench)
        if changed:
            print(f"\nagainst {changed[0]['against']}, same engine (paired bootstrap 95% interval over the images)\n")
            print("| model | engine | person IoU difference | boundary IoU difference |")
            print("|---|---|---|---|")
            for d in changed:
                print(
                    f"| {d['model']} | {d['backend']} | {_interval(d['person_iou'])} | {_interval(d['boundary_iou'])} |"
                )
    if args.json:
        rows = {s: [_json_row(r) for r in b.rows] for s, b in results.items()}
        print(json.dumps(rows))
    return 0


def _interval(found: tuple[float, float, float]) -> str:
    """A difference in IoU points: '+1.2 [-0.3, +2.6]'."""
    mean, low, high = (100 * v for v in found)
    return f"{mean:+.1f} [{low:+.1f}, {high:+.1f}]"


def _json_row(row: dict) -> dict:
    """A row as the JSON line gives it: rounded, without the per-image lists."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items() if not k.startswith("per_image")}
