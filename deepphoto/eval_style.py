"""``deepphoto eval-style``: how well and how fast the shipped styles paint, on held-out content.

Per style: the design's content and style losses of the fast network (mean over the held-out
content set) next to the optimiser's on one content image, the temporal error (stylise(shift(x))
against shift(stylise(x)), mean absolute difference on 0-255 over the valid region), the median
latency at 640x480, MACs and size, with the classic (Johnson et al.) architecture's cost beside
them. Writes a picture sheet: content | style | fast network | optimiser, one row per style.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from deepphoto.models.optimize_style import (
    OPT_CONTENT_LAYER,
    OPT_STYLE_LAYERS,
    StyleObjective,
    load_style_grams,
    optimize,
    to_vgg,
)
from deepphoto.models.style_data import STYLE_SOURCES, evaluation_content
from deepphoto.models.style_losses import content_loss, style_loss
from deepphoto.models.stylenet import ClassicStyleNet, StyleNet, count_macs
from deepphoto.models.styles import SHIPPED_STYLENET, style_names
from deepphoto.models.vgg import load_vgg19
from deepphoto.stylizer import Stylizer

SHIFT = 4  # pixels, for the temporal error


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
    p.add_argument("--size", type=int, default=256, help="short side of the content images")
    p.add_argument("--optimize-iterations", default="150,40", help="optimiser iterations (half size, full)")
    p.add_argument("--json", action="store_true", help="end with one JSON line of the results")


def design_losses(
    vgg: torch.nn.Module, out_bgr: np.ndarray, content_bgr: np.ndarray, grams: dict[str, torch.Tensor]
) -> tuple[float, float]:
    """The design's L_content and L_style (Gatys layer weights) of ``out`` for this content."""
    objective = StyleObjective(vgg, content_bgr, grams)
    with torch.no_grad():
        feats = vgg(to_vgg(out_bgr), OPT_STYLE_LAYERS + (OPT_CONTENT_LAYER,))
        l_c = float(content_loss(feats[OPT_CONTENT_LAYER], objective.content).sum())
        l_s = float(style_loss(feats, objective.targets, objective.weights).sum())
    return l_c, l_s


def temporal_error(stylize: Stylizer, image: np.ndarray, shift: int = SHIFT) -> float:
    """|stylise(shift(x)) - shift(stylise(x))| on 0-255, over the region both cover."""
    h, w = image.shape[:2]
    base = stylize(image[: h - shift, : w - shift])
    moved = stylize(image[shift:, shift:])
    # moved[y, x] shows image[y + shift, x + shift] = base[y + shift, x + shift]
    a = moved[: h - 2 * shift, : w - 2 * shift].astype(np.float32)
    b = base[shift:, shift:].astype(np.float32)
    return float(np.abs(a - b).mean())


def median_latency(fn: object, frame: np.ndarray, runs: int = 15) -> float:
    for _ in range(3):
        fn(frame)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(frame)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def classic_latency_ms(frame: np.ndarray) -> float:
    """The classic architecture (random weights: cost only) through ONNX Runtime at this size."""
    import tempfile

    import onnxruntime as ort

    from deepphoto.models.onnx_cache import export_module

    net = ClassicStyleNet().eval()
    x = torch.rand(1, 3, frame.shape[0], frame.shape[1])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "classic.onnx"
        export_module(net, (x,), path, ["rgb"], ["styled"], {})
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {"rgb": x.numpy()}
        return median_latency(lambda _f: session.run(None, feed), frame, runs=5)


def run(args: argparse.Namespace) -> int:
    weights = args.weights or SHIPPED_STYLENET
    names = style_names(weights)
    titles = {s.name: s for s in STYLE_SOURCES}
    content = evaluation_content(args.data, short_side=args.size)
    vgg = load_vgg19("block5_relu1")
    iters = tuple(int(v) for v in args.optimize_iterations.split(","))
    frame = cv2.resize(content[0][1], (640, 480))
    macs = count_macs(StyleNet(len(names)), torch.rand(1, 3, 480, 640), torch.eye(len(names))[:1])
    classic_macs = count_macs(ClassicStyleNet(), torch.rand(1, 3, 480, 640))
    baseline = Stylizer(names[0], weights=args.baseline) if args.baseline else None
    rows, sheet = [], []
    for name in names:
        fast = Stylizer(name, weights=weights)
        grams = load_style_grams(name)
        losses = [design_losses(vgg, fast(img), img, grams) for _, img in content]
        sample = content[len(content) - 1][1]
        t = time.perf_counter()
        opt_img = (
            optimize(sample, grams, size=max(sample.shape[:2]), iterations=iters, vgg=vgg, progress=False)
            if sum(iters)
            else sample
        )  # 0,0 skips the optimiser (its columns then show the content)
        opt_seconds = time.perf_counter() - t
        fast_sample = fast(sample)
        row = {
            "style": name,
            "fast_content_loss": float(np.mean([c for c, _ in losses])),
            "fast_style_loss": float(np.mean([s for _, s in losses])),
            "sample_fast_losses": design_losses(vgg, fast_sample, sample, grams),
            "sample_optimizer_losses": design_losses(vgg, opt_img, sample, grams),
            "optimizer_seconds": round(opt_seconds, 1),
            "temporal_error": float(np.mean([temporal_error(fast, img) for _, img in content])),
        }
        if baseline is not None:
            baseline.set_style(name)
            row["baseline_temporal_error"] = float(np.mean([temporal_error(baseline, img) for _, img in content]))
        rows.append(row)
        painting = cv2.imread(str(args.data / "styles" / titles[name].file)) if name in titles else None
        tiles = [sample, painting if painting is not None else np.zeros_like(sample), fast_sample, opt_img]
        sheet.append(np.hstack([cv2.resize(t, (320, 240), interpolation=cv2.INTER_AREA) for t in tiles]))
    fast = Stylizer(names[0], weights=weights)
    summary = {
        "styles": rows,
        "latency_ms_640x480": median_latency(fast, frame),
        "classic_latency_ms_640x480": classic_latency_ms(frame),
        "gmacs_640x480": macs / 1e9,
        "classic_gmacs_640x480": classic_macs / 1e9,
        "size_mb": weights.stat().st_size / 1e6,
        "content_images": len(content),
    }
    args.sheet.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.sheet), np.vstack(sheet))
    print(f"{len(content)} held-out content images (short side {args.size}); optimiser on one of them")
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
