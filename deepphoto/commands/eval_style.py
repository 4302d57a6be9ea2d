"""``deepphoto eval-style``: how well and how fast the shipped styles paint, on held-out content.

Per style: the design's content and style losses of the fast network next to the optimiser's, the
temporal error, latency, MACs and size (see ``deepphoto.measure.eval_style``), and a picture sheet.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from deepphoto.commands.options import count, counts


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=Path("../shared/data"), help="shared data folder")
    p.add_argument("--weights", type=Path, default=None, help="StyleNet weights (default: shipped)")
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a StyleNet trained without the temporal term, to compare temporal error",
    )
    p.add_argument("--sheet", type=Path, default=Path("docs/style-sheet.jpg"), help="picture sheet to write")
    p.add_argument(
        "--size", type=count("--size", 32, 2048), default=256, help="short side of the content images (32-2048)"
    )
    p.add_argument(
        "--optimize-iterations",
        type=counts("--optimize-iterations", 0, 100000, 2),
        default="150,40",
        help="optimiser iterations (half size, full)",
    )
    p.add_argument("--json", action="store_true", help="end with one JSON line of the results")


def run(args: argparse.Namespace) -> int:
    from deepphoto.measure.eval_style import evaluate_styles
    from deepphoto.stream.output_safety import check_folder_can_be_made

    check_folder_can_be_made(args.sheet.parent)  # before the minutes of evaluation

    iterations = args.optimize_iterations
    summary = evaluate_styles(
        args.data,
        weights=args.weights,
        baseline=args.baseline,
        sheet=args.sheet,
        size=args.size,
        optimize_iterations=iterations,
    )
    rows, baseline = summary["styles"], args.baseline
    print(f"{summary['content_images']} held-out content images (short side {args.size}); optimiser on one of them")
    print(
        f"{'style':16} {'fast L_c':>10} {'fast L_s':>10} | {'sample fast L_c/L_s':>22} | "
        f"{'optimiser L_c/L_s':>22} {'opt s':>6} | {'temporal':>8}" + (f" {'no-temporal':>11}" if baseline else "")
    )
    for r in rows:
        fc, fs = r["sample_fast_losses"]
        oc, os_ = r["sample_optimizer_losses"]
        line = (
            f"{r['style']:16} {r['fast_content_loss']:10.3g} {r['fast_style_loss']:10.3g} | "
            f"{fc:10.3g} / {fs:9.3g} | {oc:10.3g} / {os_:9.3g} {r['optimizer_seconds']:6.1f} | "
            f"{r['temporal_error']:8.2f}"
        )
        if baseline is not None:
            line += f" {r['baseline_temporal_error']:11.2f}"
        print(line)
    print(
        f"fast network: {summary['latency_ms_640x480']:.1f} ms median at 640x480 (ONNX Runtime), "
        f"{summary['gmacs_640x480']:.2f} GMAC, {summary['size_mb']:.2f} MB"
    )
    print(
        f"classic network: {summary['classic_latency_ms_640x480']:.0f} ms, {summary['classic_gmacs_640x480']:.1f} "
        f"GMAC ({summary['classic_gmacs_640x480'] / summary['gmacs_640x480']:.0f}x the fast network)"
    )
    print(f"sheet: {args.sheet}")
    if args.json:
        print(json.dumps(summary))
    return 0
