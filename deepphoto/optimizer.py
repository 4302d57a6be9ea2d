"""The photo-quality method of the design (Gatys et al.): optimise the image itself with L-BFGS.

Slow but the best picture, for single photos: ``deepphoto edit IN OUT --style NAME --method optimize``.
The style is given by the Gram matrices of the painting (shipped for the named styles, computed
for a user style's or any painting the user points at).

How strongly it paints (``deepphoto eval-style`` measures it against the teacher, Magenta's
arbitrary-style network, on held-out photos):

- **Start from a painting, not from the photo.** L-BFGS from the photo stops, within the few
  hundred steps a photo can afford, close to the photo: a tinted photo. The optimiser starts from
  the fast painting of the same style (``START_PAINTED``): the teacher's for any painting
  (``--style-image``), the StyleNet's for a named style (distilled from the teacher); the
  optimisation then sharpens it at full size against the painting's Gram matrices, the content
  term holding the photo's structure.
- **Gatys' balance.** ``STYLE_WEIGHT`` 1e3 (alpha / beta = 1e-3, as in Gatys et al.'s figures;
  the losses here are theirs, on the same 0-255 VGG input); it was 10, a hundred times less style.
- **Coarse to fine, detail kept.** Most steps at half size, then a few at full size; the full-size
  stage starts from the start picture plus the half-size stage's changes (upscaled), so the full
  size keeps the start's fine strokes instead of an upscaled blur.

``--strength`` blends the result with the unpainted photo (``deepphoto.frames.mix``), as for the
teacher and the fast network, so equal strengths compare equally.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from deepphoto.errors import DeepPhotoError, bar_width
from deepphoto.frames import MIN_PAINTING_SIDE, PAINTING_LONG_SIDE, decode_file
from deepphoto.models.shipped import PACKAGE_WEIGHTS
from deepphoto.models.style_losses import content_loss, gatys_weights, gram, style_loss
from deepphoto.models.vgg import VGG_MEAN_BGR, VGG19Features, load_vgg19

if TYPE_CHECKING:
    from deepphoto.arbitrary import ArbitraryStyle

OPT_CONTENT_LAYER = "block4_relu2"  # Gatys' conv4_2
OPT_STYLE_LAYERS = ("block1_relu1", "block2_relu1", "block3_relu1", "block4_relu1", "block5_relu1")
STYLE_GRAMS = PACKAGE_WEIGHTS / "style-grams.safetensors"
PAINTING_SIDE = PAINTING_LONG_SIDE  # a painting's long side when its Gram matrices are taken
GRAM_MIN_SIDE = MIN_PAINTING_SIDE  # VGG19 halves a picture four times before block5_relu1
STYLE_WEIGHT = 1e3  # beta (alpha = 1): Gatys et al.'s alpha / beta = 1e-3
TV_WEIGHT = 1e3
DEFAULT_ITERATIONS = (20, 10)  # L-BFGS steps at half size, then at full size (from the fast painting)
START_PAINTED, START_PHOTO = "painted", "photo"
TEACHER_VECTOR = "teacher_vector"


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


def save_style_grams(
    grams: dict[str, dict[str, torch.Tensor]],
    path: Path = STYLE_GRAMS,
    vectors: dict[str, np.ndarray] | None = None,
) -> None:
    """The Gram matrices of each style and, where given, the teacher's style vector of its painting
    (``<style>/teacher_vector``: the optimiser then starts from the teacher's painting)."""
    flat = {}
    for style, gs in grams.items():
        for layer, g in gs.items():  # half precision after scaling to at most 1 (raw values overflow it)
            scale = g.abs().max().clamp_min(1e-12)
            flat[f"{style}/{layer}"] = (g / scale).half().contiguous()
            flat[f"{style}/{layer}/scale"] = scale.float().reshape(1)
    for style, vector in (vectors or {}).items():
        flat[f"{style}/{TEACHER_VECTOR}"] = torch.from_numpy(np.asarray(vector, np.float32).reshape(-1).copy())
    save_file(flat, str(path), metadata={"kind": "style-grams", "layers": ",".join(OPT_STYLE_LAYERS)})


def load_teacher_vector(style: str, path: Path = STYLE_GRAMS) -> np.ndarray | None:
    """The teacher's style vector of a named style's painting, shipped beside its Gram matrices
    (None when this file has none)."""
    if not path.is_file():
        return None
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        key = f"{style}/{TEACHER_VECTOR}"
        return np.asarray(f.get_tensor(key), np.float32).reshape(1, 1, 1, -1) if key in f.keys() else None  # noqa: SIM118


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
        style_weight: float = STYLE_WEIGHT,
        tv_weight: float = TV_WEIGHT,
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
    iterations: tuple[int, int] = DEFAULT_ITERATIONS,
    style_weight: float = STYLE_WEIGHT,
    tv_weight: float = TV_WEIGHT,
    vgg: VGG19Features | None = None,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """The content photo painted in the style: long side ``size``, returned at the input's size.
    ``start``: the picture the optimisation starts from (any size; default the photo itself).
    ``on_progress(done, total)`` after every step (the web page's progress bar; it may raise to stop)."""
    vgg = vgg or load_vgg19("block5_relu1")
    h, w = content_bgr.shape[:2]
    s = size / max(h, w)
    full = (max(16, round(w * s)), max(16, round(h * s)))
    sizes = [(max(16, full[0] // 2), max(16, full[1] // 2)), full]
    first = content_bgr if start is None else start
    x: torch.Tensor | None = None
    x_size: tuple[int, int] | None = None
    done, total = 0, sum(max(0, i) for i in iterations)

    def step(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(done, total)

    with tqdm(total=total, unit="step", desc="optimize", disable=not progress, **bar_width()) as bar:
        for (sw, sh), iters in zip(sizes, iterations):
            if iters <= 0:
                continue
            content = cv2.resize(content_bgr, (sw, sh), interpolation=cv2.INTER_AREA)
            objective = StyleObjective(vgg, content, grams, style_weight=style_weight, tv_weight=tv_weight)
            x = minimise(objective, stage_start(first, x, x_size, (sw, sh)), iters, bar, step)
            x_size = (sw, sh)
    out = from_vgg(x) if x is not None else at_size(first, full)
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC) if out.shape[:2] != (h, w) else out


def at_size(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if image.shape[1::-1] == size:
        return image
    shrink = size[0] < image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def stage_start(
    first: np.ndarray, x: torch.Tensor | None, x_size: tuple[int, int] | None, size: tuple[int, int]
) -> torch.Tensor:
    """Where a stage starts (VGG space, ``size`` = (W, H)): the start picture at this size, plus
    what the previous, smaller stage changed in it (upscaled), so its fine detail is kept."""
    here = to_vgg(at_size(first, size))
    if x is None or x_size is None:
        return here
    before = to_vgg(at_size(first, x_size))
    change = F.interpolate(x - before, size=(size[1], size[0]), mode="bilinear", align_corners=False)
    return here + change


def build_style_grams(shared: Path, out: Path = STYLE_GRAMS, long_side: int = PAINTING_SIDE) -> Path:
    """Gram matrices of each shared painting (``shared/styles``, every one in
    ``deepphoto.models.paintings.PAINTINGS``), for ``--method optimize``."""
    from deepphoto.models.paintings import PAINTINGS

    vgg = load_vgg19("block5_relu1")
    try:  # the teacher's style vectors too, when its files are in the asset cache
        from deepphoto.arbitrary import ArbitraryStyle

        teacher: ArbitraryStyle | None = ArbitraryStyle.open()
    except DeepPhotoError:
        teacher = None
    grams, vectors = {}, {}
    for source in PAINTINGS:
        painting = decode_file(shared / "styles" / source.file, cv2.IMREAD_COLOR)
        grams[source.name] = painting_grams(vgg, painting, long_side)
        if teacher is not None:
            vectors[source.name] = teacher.style_vector(painting)
    save_style_grams(grams, out, vectors)
    return out


def check_painting_shape(width: int, height: int, long_side: int = PAINTING_SIDE) -> None:
    """A one-line ``DeepPhotoError`` for a painting too long and thin for its Gram matrices: scaled
    to ``long_side`` on its long side, its short side must keep ``GRAM_MIN_SIDE`` pixels."""
    if round(min(width, height) * long_side / max(width, height)) < GRAM_MIN_SIDE:
        raise DeepPhotoError(
            f"painting {width}x{height} is too long and thin for the optimiser (at most "
            f"{long_side // GRAM_MIN_SIDE}:1); crop it"
        )


def painting_grams(
    vgg: VGG19Features, painting_bgr: np.ndarray, long_side: int = PAINTING_SIDE
) -> dict[str, torch.Tensor]:
    """A painting's Gram matrices, taken at ``long_side`` pixels on its long side."""
    check_painting_shape(painting_bgr.shape[1], painting_bgr.shape[0], long_side)
    s = long_side / max(painting_bgr.shape[:2])
    return style_grams_of(vgg, cv2.resize(painting_bgr, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))


def user_painting(style: str) -> np.ndarray | None:
    """The painting kept with a user style (``add-style``), or None."""
    from deepphoto.frames import read_image
    from deepphoto.models.shipped import user_styles_for

    mine = {s.name: s for s in user_styles_for()}
    if style in mine and mine[style].painting.is_file():
        return read_image(mine[style].painting)
    return None


def shipped_grams(style: str) -> dict[str, torch.Tensor]:
    """A named style's Gram matrices: shipped, else (a user style) from the painting kept with it."""
    try:
        return load_style_grams(style)
    except DeepPhotoError as exc:
        art = user_painting(style)
        if art is None:
            from deepphoto.models.shipped import user_styles_for

            mine = [s.name for s in user_styles_for()]
            raise DeepPhotoError(f"{exc}; or one of yours: {', '.join(mine)}" if mine else str(exc)) from None
        return painting_grams(_loss_network(), art)


def painted_start(
    image: np.ndarray,
    style: str | None,
    painting_bgr: np.ndarray | None,
    weights: Path | None = None,
) -> np.ndarray:
    """The fast painting the optimiser starts from: the teacher's (Magenta's arbitrary-style
    network) when the painting is known (given, kept with a user style, or its style vector shipped
    with the Gram matrices), else the StyleNet's (``weights``, default shipped) of ``style``."""
    if painting_bgr is None and style:
        painting_bgr = user_painting(style)
    if painting_bgr is not None:
        teacher = _teacher()
        return teacher.paint(image, teacher.style_vector(painting_bgr))
    vector = load_teacher_vector(style or "")
    if vector is not None:
        return _teacher().paint(image, vector)
    from deepphoto.stylizer import Stylizer

    return Stylizer(style or "", weights=weights)(image)


@functools.lru_cache(maxsize=1)
def _teacher() -> ArbitraryStyle:
    """The teacher's two ONNX sessions, opened once per process (the Studio runs many jobs)."""
    from deepphoto.arbitrary import ArbitraryStyle

    return ArbitraryStyle.open()


@functools.lru_cache(maxsize=1)
def _loss_network() -> VGG19Features:
    """VGG19 to block5_relu1, loaded once per process (the Studio runs many jobs)."""
    return load_vgg19("block5_relu1", download=False)


def paint_photo(
    image: np.ndarray,
    style: str | None,
    painting: Path | None,
    size: int = 512,
    iterations: tuple[int, int] = DEFAULT_ITERATIONS,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    start: str = START_PAINTED,
    weights: Path | None = None,
    progress: bool = True,
    strength: float = 1.0,
) -> np.ndarray:
    """``image`` painted by the optimiser in a named ``style`` (of the StyleNet ``weights``, default
    shipped) or after any ``painting`` file, starting from the fast painting (``START_PAINTED``) or
    the photo (``START_PHOTO``); ``iterations`` at half, then full size; ``on_progress(done,
    total)`` as in ``optimize``. ``strength`` 0 to 1 blends the result with the unpainted photo
    (``deepphoto.frames.mix``, as the teacher and the fast network do; 0: the photo, not optimised)."""
    from deepphoto.frames import mix, painting_from, read_image_alpha
    from deepphoto.settings import number

    strength = number("strength", strength, 0.0, 1.0)
    if start not in (START_PAINTED, START_PHOTO):
        raise DeepPhotoError(f"unknown start {start!r}: choose {START_PAINTED} or {START_PHOTO}")
    vgg = _loss_network()
    art = painting_from(*read_image_alpha(painting)) if painting is not None else None  # as edit read it
    grams = painting_grams(vgg, art) if art is not None else shipped_grams(style or "")  # checks the style
    if strength == 0.0:
        return image.copy()
    first = None
    if start == START_PAINTED:
        h, w = image.shape[:2]
        s = min(1.0, size / max(h, w))  # at the size the optimiser paints at
        small = at_size(image, (max(16, round(w * s)), max(16, round(h * s))))
        first = painted_start(small, style, art, weights)
    out = optimize(
        image, grams, size=size, iterations=iterations, vgg=vgg, progress=progress, on_progress=on_progress, start=first
    )
    return mix(out, image, strength)
