"""``deepphoto eval-style``: how the styles paint on held-out photos, against the teacher.

Per style: PSNR and SSIM against the teacher (Magenta's arbitrary-style network with the same
painting), structure kept (luminance correlation with the photo; the teacher's beside it), how
painted (Delta E from the photo), the design's losses, temporal error; the photo optimiser against
the teacher; latency, MACs and size; a picture sheet (see ``deepphoto.measure.eval_style``).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from deepphoto.assets import shared_data
from deepphoto.commands.options import SHARED_DATA_HELP, count, counts
from deepphoto.errors import DeepPhotoError
from deepphoto.settings import IMAGE_SUFFIXES, counted


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=shared_data(), help=SHARED_DATA_HELP)
    p.add_argument(
        "--weights", type=Path, default=None, help="StyleNet weights to judge (default: shipped, with the user styles)"
    )
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a StyleNet trained without the temporal term, to compare temporal error",
    )
    p.add_argument("--sheet", type=Path, default=Path("docs/style-sheet.jpg"), help="picture sheet to write")
    p.add_argument(
        "--size", type=count("--size", 32, 2048), default=256, help="short side of the held-out photos (32-2048)"
    )
    p.add_argument(
        "--images", type=count("--images", 1, 1000), default=8, help="held-out photos, fixed by name (1-1000)"
    )
    p.add_argument(
        "--sheet-images",
        type=count("--sheet-images", 0, 1000),
        default=2,
        help="photos in the sheet, from the first: a portrait, then a full figure (0-1000; 0 writes no sheet)",
    )
    p.add_argument(
        "--optimize-images",
        type=count("--optimize-images", 0, 1000),
        default=2,
        help="photos the optimiser paints per style, from the first (0 skips it; minutes each)",
    )
    p.add_argument(
        "--optimize-iterations",
        type=counts("--optimize-iterations", 0, 100000, 2),
        default="20,10",
        help="optimiser steps at half size, then full size (default: edit --method optimize's)",
    )
    p.add_argument(
        "--optimize-size",
        type=count("--optimize-size", 16, 4096),
        default=None,
        help="optimiser's long side (16-4096; default: the photo's)",
    )
    p.add_argument("--classic", action="store_true", help="also the classic (Johnson et al.) network's cost")
    p.add_argument("--json", action="store_true", help="end with one JSON line of the results")


def _f(value: float | None, spec: str, width: int) -> str:
    if value is None:
        return f"{'-':>{width}}"
    if math.isinf(value):
        return f"{'inf':>{width}}"
    return f"{value:{width}{spec}}"


def print_table(summary: dict, baseline: bool) -> None:
    rows = summary["styles"]
    print(
        f"{counted(summary['content_images'], 'held-out photo')} (short side {summary['short_side']}): "
        f"{', '.join(summary['photos'])}; optimiser on the first {summary['optimizer_images']}, "
        f"{summary['optimizer_iterations'][0]}+{summary['optimizer_iterations'][1]} steps"
    )
    print(
        f"{'style':16} {'PSNR':>5} {'SSIM':>5} | {'lum':>5} {'T lum':>5} | {'dE':>4} {'T dE':>4} {'pull':>4} "
        f"{'T pull':>6} | {'L_c':>8} {'L_s':>8} {'T L_s':>8} | {'temp':>5}"
        + (f" {'no-temp':>7}" if baseline else "")
        + f" | {'opt dE':>6} {'T dE':>4} {'lum':>5} {'pull':>4} {'s':>5}"
    )
    for r in rows:
        g = r.get
        line = (
            f"{r['style'] + ('' if r['slot'] else ' *'):16} {_f(g('psnr'), '.1f', 5)} {_f(g('ssim'), '.2f', 5)} | "
            f"{_f(g('luminance_correlation'), '.2f', 5)} {_f(g('teacher_luminance_correlation'), '.2f', 5)} | "
            f"{_f(g('painted'), '.0f', 4)} {_f(g('teacher_painted'), '.0f', 4)} {_f(g('palette_pull'), '.2f', 4)} "
            f"{_f(g('teacher_palette_pull'), '.2f', 6)} | {_f(g('content_loss'), '.3g', 8)} "
            f"{_f(g('style_loss'), '.3g', 8)} {_f(g('teacher_style_loss'), '.3g', 8)} | "
            f"{_f(g('temporal_error'), '.2f', 5)}"
        )
        if baseline:
            line += f" {_f(g('baseline_temporal_error'), '.2f', 7)}"
        line += (
            f" | {_f(g('optimizer_painted'), '.0f', 6)} {_f(g('optimizer_teacher_painted'), '.0f', 4)} "
            f"{_f(g('optimizer_luminance_correlation'), '.2f', 5)} {_f(g('optimizer_palette_pull'), '.2f', 4)} "
            f"{_f(g('optimizer_seconds'), '.0f', 5)}"
        )
        print(line)
    print(
        "PSNR/SSIM: StyleNet against the teacher (Magenta, same painting); lum: luminance correlation with the "
        "photo (T: the teacher's); dE: mean Delta E from the photo (how painted); pull: palette moved towards "
        "the painting (0-1); L_c/L_s: the design's losses (T L_s: the teacher's); temp: temporal error; "
        "opt: the optimiser on its photos, beside the teacher's dE on the same photos; * no slot: teacher only"
    )
    if "latency_ms_640x480" in summary:
        print(
            f"StyleNet: {summary['latency_ms_640x480']:.1f} ms median for a 640x480 frame at style scale "
            f"{summary['latency_style_scale']:g} as run paints it ({summary['latency_ms_640x480_full_size']:.1f} ms at "
            f"full size; ONNX Runtime, {summary['latency_threads']} threads), {summary['gmacs_640x480']:.2f} GMAC "
            f"at full size, {summary['size_mb']:.2f} MB"
        )
    if "classic_latency_ms_640x480" in summary:
        print(
            f"classic network: {summary['classic_latency_ms_640x480']:.0f} ms, "
            f"{summary['classic_gmacs_640x480']:.1f} GMAC "
            f"({summary['classic_gmacs_640x480'] / summary['gmacs_640x480']:.0f}x StyleNet)"
        )


def run(args: argparse.Namespace) -> int:
    from deepphoto.measure.eval_style import evaluate_styles
    from deepphoto.stream.output_safety import check_folder_can_be_made

    sheet = args.sheet if args.sheet_images else None  # 0: no sheet (it was an empty picture)
    if sheet is not None:
        check_folder_can_be_made(sheet.parent)  # before the minutes of evaluation
        if sheet.is_dir() or sheet.suffix.lower() not in IMAGE_SUFFIXES:
            raise DeepPhotoError(f"{sheet}: name the sheet as an image file ({', '.join(IMAGE_SUFFIXES)})")

    summary = evaluate_styles(
        args.data,
        weights=args.weights,
        baseline=args.baseline,
        sheet=sheet,
        size=args.size,
        images=args.images,
        sheet_images=args.sheet_images,
        optimize_images=args.optimize_images,
        optimize_iterations=args.optimize_iterations,
        optimize_size=args.optimize_size,
        classic=args.classic,
    )
    print_table(summary, args.baseline is not None)
    print(f"sheet: {sheet}" if sheet is not None else "sheet: none written (--sheet-images 0)")
    if args.json:
        print(json.dumps(json_safe(summary), allow_nan=False))
    return 0


def json_safe(value: object) -> object:
    """``value`` with every infinite or NaN number as null (a PSNR of identical pictures is inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
