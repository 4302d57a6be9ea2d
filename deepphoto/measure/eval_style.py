"""How well and how fast the styles paint, on held-out photos (``deepphoto eval-style``).

The photos: ``deepphoto.measure.held_out`` (validation splits only, fixed by file name: portraits,
eg-portraits, selfies and full-figure fashion photos). The styles: ``deepphoto.measure.style_cases``
(every style of the network, then each shared painting it has no slot for: teacher and optimiser
only). The teacher: Magenta's arbitrary-style network (``deepphoto.arbitrary``) with the style's
painting, each photo painted once per run at the photo's size. Per style, means over the photos
(``deepphoto.measure.picture_scores`` defines each score):

- closeness to the teacher: PSNR and SSIM of StyleNet's painting against the teacher's;
- structure kept: luminance correlation of StyleNet's painting with the photo, and the teacher's
  own as the reference (below 0: light and dark inverted);
- how painted: mean Delta E from the photo, and the palette's pull towards the painting;
- the design's content and style losses (Gatys et al., VGG19) of StyleNet's painting and of the
  teacher's (the style loss alone can rate a tinted texture closer to a painting than a painting);
- temporal error: |stylise(shift(x)) - shift(stylise(x))| on 0-255 over the region both cover;
- the photo optimiser (``deepphoto.optimizer``, as ``edit --method optimize`` runs it; see
  ``optimise``) on the first few photos: how painted against the teacher on the same photos, its
  luminance correlation, its palette's pull, time.

Network-wide: median latency at 640x480 through ONNX Runtime on ``THREADS`` threads, MACs, size;
with ``classic``, the classic (Johnson et al.) architecture's cost beside them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from deepphoto.arbitrary import ArbitraryStyle
from deepphoto.frames import read_image
from deepphoto.measure import picture_scores as scores
from deepphoto.measure.held_out import held_out_photos
from deepphoto.measure.style_cases import StyleCase, style_cases
from deepphoto.measure.style_sheet import SheetRow, write_sheet
from deepphoto.models.shipped import SHIPPED
from deepphoto.models.style_losses import content_loss, style_loss
from deepphoto.models.stylenet import ClassicStyleNet, count_macs
from deepphoto.models.vgg import VGG19Features, load_vgg19
from deepphoto.optimizer import (
    DEFAULT_ITERATIONS,
    OPT_CONTENT_LAYER,
    OPT_STYLE_LAYERS,
    StyleObjective,
    paint_photo,
    painting_grams,
    shipped_grams,
    to_vgg,
)
from deepphoto.settings import Settings
from deepphoto.stylizer import Stylizer

SHIFT = 4  # pixels, for the temporal error
THREADS = 2  # ONNX Runtime threads for StyleNet's latency and for the teacher


def design_losses(
    vgg: VGG19Features, out_bgr: np.ndarray, content_bgr: np.ndarray, grams: dict[str, torch.Tensor]
) -> tuple[float, float]:
    """The design's L_content and L_style (Gatys layer weights) of ``out`` for this content."""
    objective = StyleObjective(vgg, content_bgr, grams)
    with torch.no_grad():
        feats = vgg(to_vgg(out_bgr), OPT_STYLE_LAYERS + (OPT_CONTENT_LAYER,))
        l_c = float(content_loss(feats[OPT_CONTENT_LAYER], objective.content).sum())
        l_s = float(style_loss(feats, objective.targets, objective.weights).sum())
    return l_c, l_s


def temporal_error(stylize: Callable[[np.ndarray], np.ndarray], image: np.ndarray, shift: int = SHIFT) -> float:
    """|stylise(shift(x)) - shift(stylise(x))| on 0-255, over the region both cover."""
    h, w = image.shape[:2]
    base = stylize(image[: h - shift, : w - shift])
    moved = stylize(image[shift:, shift:])
    # moved[y, x] shows image[y + shift, x + shift] = base[y + shift, x + shift]
    a = moved[: h - 2 * shift, : w - 2 * shift].astype(np.float32)
    b = base[shift:, shift:].astype(np.float32)
    return float(np.abs(a - b).mean())


def median_latency(fn: Callable[[np.ndarray], object], frame: np.ndarray, runs: int = 15) -> float:
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
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {"rgb": x.numpy()}
        return median_latency(lambda _f: session.run(None, feed), frame, runs=5)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


@dataclass
class StyleScores:
    """The per-photo scores of one style, kept until they are summarised."""

    case: StyleCase
    per: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.per.setdefault(key, []).append(value)

    def row(self) -> dict:
        out: dict = {"style": self.case.name, "slot": self.case.slot, "painting": self._painting()}
        out.update({key: _mean(values) for key, values in self.per.items()})
        out["photos"] = max((len(v) for v in self.per.values()), default=0)
        return out

    def _painting(self) -> str | None:
        return self.case.painting.name if self.case.painting else None


def evaluate_styles(
    data: Path,
    weights: Path | None = None,
    baseline: Path | None = None,
    sheet: Path | None = None,
    size: int = 256,
    images: int = 8,
    sheet_images: int = 2,
    optimize_images: int = 2,
    optimize_iterations: tuple[int, int] = DEFAULT_ITERATIONS,
    optimize_size: int | None = None,
    classic: bool = False,
    progress: bool = True,
) -> dict:
    """Every style of ``weights`` (default: the shipped network and the user's styles) and every
    shared painting without a slot, on ``images`` held-out photos at short side ``size``; the
    optimiser on the first ``optimize_images`` of them (``optimize_iterations`` at half, then full
    size, long side ``optimize_size``, default the photo's; 0 photos skips it); temporal error of
    ``baseline`` too (a StyleNet trained without the temporal term). Writes the picture sheet (the
    first ``sheet_images`` photos) to ``sheet`` when given. Returns ``styles`` (one row per style)
    and the network-wide numbers."""
    network = weights or SHIPPED["stylenet"]
    cases = style_cases(data, weights)
    photos = held_out_photos(data, images, size)
    teacher = ArbitraryStyle.open(THREADS)
    vgg = load_vgg19("block5_relu1", download=False)
    baseline_net = Stylizer(cases[0].name, weights=baseline, threads=THREADS) if baseline and cases else None
    rows, sheet_rows = [], []
    steps = sum(len(photos) + min(optimize_images, len(photos)) for _ in cases)
    with tqdm(total=steps, desc="eval-style", unit="step", disable=not progress) as bar:
        for case in cases:
            found = StyleScores(case)
            painting = read_image(case.painting) if case.painting else None
            vector = teacher.style_vector(painting) if painting is not None else None
            grams = painting_grams(vgg, painting) if painting is not None else shipped_grams(case.name)
            fast = Stylizer(case.name, weights=weights, threads=THREADS) if case.slot else None
            if baseline_net is not None and case.slot:
                baseline_net.set_style(case.name)
            for i, (photo_name, photo) in enumerate(photos):
                bar.set_postfix_str(f"{case.name} {photo_name}")
                taught = teacher.paint(photo, vector) if vector is not None else None
                painted = fast(photo) if fast is not None else None
                optimised = None
                if taught is not None:
                    found.add("teacher_luminance_correlation", scores.luminance_correlation(taught, photo))
                    found.add("teacher_painted", scores.painted(taught, photo))
                    found.add("teacher_palette_pull", scores.palette_pull(taught, photo, painting))
                    found.add("teacher_style_loss", design_losses(vgg, taught, photo, grams)[1])
                if painted is not None:
                    l_c, l_s = design_losses(vgg, painted, photo, grams)
                    found.add("content_loss", l_c)
                    found.add("style_loss", l_s)
                    found.add("luminance_correlation", scores.luminance_correlation(painted, photo))
                    found.add("painted", scores.painted(painted, photo))
                    found.add("temporal_error", temporal_error(fast, photo))
                    if baseline_net is not None:
                        found.add("baseline_temporal_error", temporal_error(baseline_net, photo))
                    if taught is not None:
                        found.add("psnr", scores.psnr(painted, taught))
                        found.add("ssim", scores.ssim(painted, taught))
                        found.add("palette_pull", scores.palette_pull(painted, photo, painting))
                bar.update(1)
                if i < optimize_images:
                    t = time.perf_counter()
                    optimised = optimise(photo, case, weights, optimize_iterations, optimize_size)
                    found.add("optimizer_seconds", time.perf_counter() - t)
                    found.add("optimizer_painted", scores.painted(optimised, photo))
                    found.add("optimizer_luminance_correlation", scores.luminance_correlation(optimised, photo))
                    if taught is not None:
                        found.add("optimizer_teacher_painted", scores.painted(taught, photo))
                        found.add("optimizer_palette_pull", scores.palette_pull(optimised, photo, painting))
                    bar.update(1)
                if i < sheet_images:
                    sheet_rows.append(sheet_row(case, photo_name, photo, painting, taught, painted, optimised))
            rows.append(found.row())
    summary = {
        "styles": rows,
        "content_images": len(photos),
        "photos": [name for name, _ in photos],
        "short_side": size,
        "optimizer_images": min(optimize_images, len(photos)),
        "optimizer_iterations": list(optimize_iterations),
        **network_cost(network, weights, cases, classic),
    }
    if sheet is not None and sheet_rows:  # none asked for (sheet_images 0): no empty picture
        write_sheet(sheet, sheet_rows)
    return summary


def optimise(
    photo: np.ndarray,
    case: StyleCase,
    weights: Path | None,
    iterations: tuple[int, int],
    size: int | None,
) -> np.ndarray:
    """The optimiser as ``edit --method optimize --style-image PAINTING`` runs it where the style's
    painting is known (what ``--style NAME`` runs too once the style's teacher vector ships with the
    Gram matrices: ``deepphoto export style-grams``), else as ``--style NAME``."""
    long_side = size or max(photo.shape[:2])
    style, painting = (None, case.painting) if case.painting else (case.name, None)
    return paint_photo(photo, style, painting, size=long_side, iterations=iterations, weights=weights, progress=False)


def network_cost(network: Path, weights: Path | None, cases: list[StyleCase], classic: bool) -> dict:
    """Median latency of a 640x480 frame as ``run`` paints it (at the default style scale, scaled
    back up) and at full size (ONNX Runtime, ``THREADS`` threads), GMACs and file size."""
    from deepphoto.models.styles import load_stylenet

    slots = [c.name for c in cases if c.slot]
    if not slots:
        return {}
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    net = load_stylenet(weights).eval()
    style = torch.zeros(1, net.styles)
    style[0, 0] = 1
    scale = Settings().style_scale
    stylizer = Stylizer(slots[0], weights=weights, scale=scale, threads=THREADS)
    as_run = median_latency(stylizer, frame)
    stylizer.scale = 1.0  # the same network and session at full size
    out = {
        "latency_ms_640x480": as_run,
        "latency_style_scale": scale,
        "latency_ms_640x480_full_size": median_latency(stylizer, frame),
        "latency_threads": THREADS,
        "gmacs_640x480": count_macs(net, torch.rand(1, 3, 480, 640), style) / 1e9,
        "size_mb": network.stat().st_size / 1e6,
    }
    if classic:
        out["classic_latency_ms_640x480"] = classic_latency_ms(frame)
        out["classic_gmacs_640x480"] = count_macs(ClassicStyleNet(), torch.rand(1, 3, 480, 640)) / 1e9
    return out


def sheet_row(
    case: StyleCase,
    photo_name: str,
    photo: np.ndarray,
    painting: np.ndarray | None,
    taught: np.ndarray | None,
    painted: np.ndarray | None,
    optimised: np.ndarray | None,
) -> SheetRow:
    """One row of the sheet, with the numbers each picture is judged by under it."""

    def judged(picture: np.ndarray | None) -> str:
        if picture is None:
            return ""
        text = f"lum {scores.luminance_correlation(picture, photo):.2f}  dE {scores.painted(picture, photo):.0f}"
        if taught is not None and picture is not taught:
            text = f"{scores.psnr(picture, taught):.1f} dB  " + text
        return text

    captions = [
        photo_name,
        case.painting.stem[:24] if case.painting else "painting not found",
        judged(taught) if taught is not None else "no painting",
        judged(painted) if painted is not None else "no slot in the network",
        judged(optimised) if optimised is not None else "not run",
    ]
    return SheetRow(case.name, photo_name, [photo, painting, taught, painted, optimised], captions)
