"""The photo-quality method of the design (Gatys et al.): optimise the image itself with L-BFGS.

Slow but the best picture, for single photos: ``deepphoto edit IN OUT --style NAME --method optimize``.
Coarse to fine: most iterations at half size, then a few at full size, which keeps a 512-pixel
photo within a few minutes on two CPU cores. The style is given by the Gram matrices of the
painting (shipped for the named styles) or by any painting the user points at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import decode_file
from deepphoto.models.shipped import PACKAGE_WEIGHTS
from deepphoto.models.style_losses import content_loss, gatys_weights, gram, style_loss
from deepphoto.models.vgg import VGG_MEAN_BGR, VGG19Features, load_vgg19

OPT_CONTENT_LAYER = "block4_relu2"  # Gatys' conv4_2
OPT_STYLE_LAYERS = ("block1_relu1", "block2_relu1", "block3_relu1", "block4_relu1", "block5_relu1")
STYLE_GRAMS = PACKAGE_WEIGHTS / "style-grams.safetensors"


def to_vgg(bgr: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(bgr, dtype=np.float32)).permute(2, 0, 1)[None].contiguous()
    return x - torch.tensor(VGG_MEAN_BGR).view(1, 3, 1, 1)


def from_vgg(x: torch.Tensor) -> np.ndarray:
    x = x.detach()[0] + torch.tensor(VGG_MEAN_BGR).view(3, 1, 1)
    return x.clamp(0, 255).round().byte().permute(1, 2, 0).numpy().copy()


def style_grams_of(vgg: VGG19Features, painting_bgr: np.ndarray) -> dict[str, torch.Tensor]:
    """Gram matrices per position (G / M_l) of a painting, so any output size can use them."""
    with torch.no_grad():
        feats = vgg(to_vgg(painting_bgr), OPT_STYLE_LAYERS)
    return {k: gram(v)[0] / (v.shape[2] * v.shape[3]) for k, v in feats.items()}


def save_style_grams(grams: dict[str, dict[str, torch.Tensor]], path: Path = STYLE_GRAMS) -> None:
    flat = {}
    for style, gs in grams.items():
        for layer, g in gs.items():  # half precision after scaling to at most 1 (raw values overflow it)
            scale = g.abs().max().clamp_min(1e-12)
            flat[f"{style}/{layer}"] = (g / scale).half().contiguous()
            flat[f"{style}/{layer}/scale"] = scale.float().reshape(1)
    save_file(flat, str(path), metadata={"kind": "style-grams", "layers": ",".join(OPT_STYLE_LAYERS)})


def load_style_grams(style: str, path: Path = STYLE_GRAMS) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise DeepPhotoError(f"{path}: no style Gram matrices shipped; use --style-image PAINTING")
    flat = load_file(str(path))
    names = sorted({k.split("/")[0] for k in flat})
    if style not in names:
        raise DeepPhotoError(f"unknown style {style!r}: choose from {', '.join(names)}")
    return {layer: flat[f"{style}/{layer}"].float() * flat[f"{style}/{layer}/scale"] for layer in OPT_STYLE_LAYERS}


class StyleObjective:
    """alpha * L_content + beta * L_style of the design, on one content image at one size."""

    def __init__(
        self,
        vgg: VGG19Features,
        content_bgr: np.ndarray,
        grams: dict[str, torch.Tensor],
        content_weight: float = 1.0,
        style_weight: float = 10.0,
        tv_weight: float = 1e3,
    ) -> None:
        self.vgg, self.alpha, self.beta, self.tv = vgg, content_weight, style_weight, tv_weight
        with torch.no_grad():
            feats = vgg(to_vgg(content_bgr), OPT_STYLE_LAYERS + (OPT_CONTENT_LAYER,))
        self.content = feats[OPT_CONTENT_LAYER]
        shapes = {k: feats[k].shape for k in OPT_STYLE_LAYERS}
        positions = {k: s[2] * s[3] for k, s in shapes.items()}
        self.weights = gatys_weights({k: s[1] for k, s in shapes.items()}, positions)
        self.targets = {k: (grams[k] * positions[k])[None] for k in OPT_STYLE_LAYERS}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.vgg(x, OPT_STYLE_LAYERS + (OPT_CONTENT_LAYER,))
        l_c = content_loss(feats[OPT_CONTENT_LAYER], self.content).sum()
        l_s = style_loss(feats, self.targets, self.weights).sum()
        # A small smoothness term keeps the optimised pixels free of high-frequency speckle.
        l_tv = (x[..., 1:, :] - x[..., :-1, :]).pow(2).sum() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).sum()
        return self.alpha * l_c + self.beta * l_s + self.tv * l_tv


def minimise(
    objective: StyleObjective,
    start: torch.Tensor,
    iterations: int,
    bar: tqdm,
    on_step: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """L-BFGS on the image, from ``start`` (VGG space), for ``iterations`` evaluations; ``on_step(n)``
    hears of every ``n`` steps done (it may raise to stop the optimisation)."""
    # Scale the loss so that its gradient is about 1 per pixel at the start: the losses are ~1e11,
    # and L-BFGS's first step and its stopping tests are in those units.
    probe = start.clone().requires_grad_(True)
    objective(probe).backward()
    norm = 1.0 / max(float(probe.grad.abs().mean()), 1e-30)
    x = start.clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [x],
        lr=1.0,
        max_iter=iterations,
        history_size=20,
        tolerance_change=0.0,
        tolerance_grad=0.0,
        line_search_fn="strong_wolfe",
    )
    done = 0

    def closure() -> torch.Tensor:
        nonlocal done
        opt.zero_grad()
        loss = objective(x) * norm
        loss.backward()
        done += 1
        if done <= iterations:
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3g}")
            if on_step is not None:
                on_step(1)
        return loss

    opt.step(closure)
    bar.update(max(0, iterations - done))
    if on_step is not None and done < iterations:
        on_step(iterations - done)
    return x.detach()


def optimize(
    content_bgr: np.ndarray,
    grams: dict[str, torch.Tensor],
    size: int = 512,
    iterations: tuple[int, int] = (250, 60),
    style_weight: float = 10.0,
    tv_weight: float = 1e3,
    vgg: VGG19Features | None = None,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The content photo painted in the style: long side ``size``, returned at the input's size.
    ``on_progress(done, total)`` after every step (the web page's progress bar; it may raise to stop)."""
    vgg = vgg or load_vgg19("block5_relu1")
    h, w = content_bgr.shape[:2]
    s = size / max(h, w)
    full = (max(16, round(w * s)), max(16, round(h * s)))
    sizes = [(max(16, full[0] // 2), max(16, full[1] // 2)), full]
    x: torch.Tensor | None = None
    done, total = 0, sum(max(0, i) for i in iterations)

    def step(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(done, total)

    with tqdm(total=sum(iterations), unit="step", desc="optimize", disable=not progress) as bar:
        for (sw, sh), iters in zip(sizes, iterations):
            if iters <= 0:
                continue
            content = cv2.resize(content_bgr, (sw, sh), interpolation=cv2.INTER_AREA)
            objective = StyleObjective(vgg, content, grams, style_weight=style_weight, tv_weight=tv_weight)
            start = to_vgg(content) if x is None else F.interpolate(x, size=(sh, sw), mode="bilinear")
            x = minimise(objective, start, iters, bar, step)
    out = from_vgg(x)
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC) if out.shape[:2] != (h, w) else out


def build_style_grams(shared: Path, out: Path = STYLE_GRAMS, long_side: int = 512) -> Path:
    """Gram matrices of each shipped style's painting (``shared/styles``), for ``--method optimize``."""
    from deepphoto.models.paintings import STYLE_SOURCES

    vgg = load_vgg19("block5_relu1")
    grams = {}
    for source in STYLE_SOURCES:
        painting = decode_file(shared / "styles" / source.file, cv2.IMREAD_COLOR)
        s = long_side / max(painting.shape[:2])
        painting = cv2.resize(painting, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        grams[source.name] = style_grams_of(vgg, painting)
    save_style_grams(grams, out)
    return out


def paint_photo(
    image: np.ndarray,
    style: str | None,
    painting: Path | None,
    size: int = 512,
    iterations: tuple[int, int] = (250, 60),
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """``image`` painted by the optimiser in a shipped ``style`` or after any ``painting`` file
    (``iterations`` at half, then full size; ``on_progress(done, total)`` as in ``optimize``)."""
    from deepphoto.frames import read_image

    vgg = load_vgg19("block5_relu1", download=False)
    if painting is not None:
        art = read_image(painting)
        s = 512 / max(art.shape[:2])
        grams = style_grams_of(vgg, cv2.resize(art, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))
    else:
        grams = load_style_grams(style or "")
    return optimize(image, grams, size=size, iterations=iterations, vgg=vgg, on_progress=on_progress)
