"""How well and how fast the shipped styles paint, on held-out content (``deepphoto eval-style``).

Per style: the design's content and style losses of the fast network (mean over the held-out
content set) next to the optimiser's on one content image, the temporal error (stylise(shift(x))
against shift(stylise(x)), mean absolute difference on 0-255 over the valid region), the median
latency at 640x480, MACs and size, with the classic (Johnson et al.) architecture's cost beside
them. Writes a picture sheet: content | style | fast network | optimiser, one row per style.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import torch

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import decode_file
from deepphoto.models.shipped import SHIPPED, style_names
from deepphoto.models.style_losses import content_loss, style_loss
from deepphoto.models.stylenet import ClassicStyleNet, StyleNet, count_macs
from deepphoto.models.vgg import load_vgg19
from deepphoto.optimizer import (
    OPT_CONTENT_LAYER,
    OPT_STYLE_LAYERS,
    StyleObjective,
    load_style_grams,
    optimize,
    to_vgg,
)
from deepphoto.stream.sinks import write_image_atomic
from deepphoto.stylizer import Stylizer
from deepphoto.training.style_data import STYLE_SOURCES, evaluation_content

SHIFT = 4  # pixels, for the temporal error


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


def evaluate_styles(
    data: Path,
    weights: Path | None = None,
    baseline: Path | None = None,
    sheet: Path | None = None,
    size: int = 256,
    optimize_iterations: tuple[int, ...] = (150, 40),
) -> dict:
    """Every style of ``weights`` (default: shipped) on the held-out content of ``data`` at short side
    ``size``: losses, temporal error (and ``baseline``'s, a StyleNet trained without the temporal
    term), the optimiser on one image (``optimize_iterations`` at half size, full size; 0,0 skips it),
    latency, MACs and size. Writes the picture sheet to ``sheet`` when given. Returns the summary:
    ``styles`` (one row per style) and the network-wide numbers."""
    weights = weights or SHIPPED["stylenet"]
    names = style_names(weights)
    titles = {s.name: s for s in STYLE_SOURCES}
    content = evaluation_content(data, short_side=size)
    vgg = load_vgg19("block5_relu1")
    iters = tuple(optimize_iterations)
    frame = cv2.resize(content[0][1], (640, 480))
    macs = count_macs(StyleNet(len(names)), torch.rand(1, 3, 480, 640), torch.eye(len(names))[:1])
    classic_macs = count_macs(ClassicStyleNet(), torch.rand(1, 3, 480, 640))
    baseline_net = Stylizer(names[0], weights=baseline) if baseline else None
    rows, sheet_rows = [], []
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
        if baseline_net is not None:
            baseline_net.set_style(name)
            row["baseline_temporal_error"] = float(np.mean([temporal_error(baseline_net, img) for _, img in content]))
        rows.append(row)
        painting = painting_or_none(data / "styles" / titles[name].file) if name in titles else None
        tiles = [sample, painting if painting is not None else np.zeros_like(sample), fast_sample, opt_img]
        sheet_rows.append(np.hstack([cv2.resize(t, (320, 240), interpolation=cv2.INTER_AREA) for t in tiles]))
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
    if sheet is not None:
        sheet.parent.mkdir(parents=True, exist_ok=True)
        write_image_atomic(sheet, np.vstack(sheet_rows))
    return summary


def painting_or_none(path: Path) -> np.ndarray | None:
    """A style's painting for the picture sheet, or None (a blank tile) when it cannot be read."""
    try:
        return decode_file(path, cv2.IMREAD_COLOR)
    except DeepPhotoError:
        return None
