"""One more style in minutes: a new row of the shipped StyleNet, learnt from the teacher's paintings.

``deepphoto add-style PAINTING --name NAME``: the arbitrary-style teacher paints a small content
set in the painting's style (cached: ``deepphoto.teachers.paintings``, under ``user-<sha256>``);
then every weight of the shipped StyleNet stays as it is and only the new style's conditional
instance norm rows (a scale and a shift per channel of every norm: 1,600 numbers) learn the
teacher's paintings, with v2's distillation loss (``deepphoto.training.distill``), until the time
budget is spent. The rows are written to the user's data folder (``deepphoto.models.user_styles``),
where the runtime appends them to the shipped ONNX network without PyTorch.

The new rows start from whichever of the network's own styles (or their mean) is closest to the
teacher's paintings on a first batch.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deepphoto.arbitrary import ArbitraryStyle
from deepphoto.assets import sha256_of
from deepphoto.errors import DeepPhotoError
from deepphoto.models.shipped import SHIPPED, style_names
from deepphoto.models.stylenet import StyleNet
from deepphoto.models.styles import load_stylenet
from deepphoto.models.user_styles import save_user_style
from deepphoto.models.vgg import load_vgg19
from deepphoto.teachers.paintings import PaintingCache, Source, small_content
from deepphoto.training.config import AddStyleConfig
from deepphoto.training.distill import FEATURE_LAYERS, DistillLoss
from deepphoto.training.distill_data import PairedCrops

ROWS = (".gamma", ".beta")


@dataclass
class AddedStyle:
    path: Path
    steps: int
    seconds: float
    loss_start: float
    loss_end: float
    init: str  # the style whose rows the new one started from (or 'mean')


def say(text: str) -> None:
    print(f"add-style: {text}", file=sys.stderr, flush=True)


def teacher_paintings(
    painting_bgr: np.ndarray,
    sources: list[Source],
    threads: int | None,
    cache: PaintingCache,
    key: str,
    digest: str,
) -> PairedCrops:
    """The teacher's paintings of ``sources`` (cached under ``key``), as one style's pairs."""
    cache.check({key: digest})
    teacher = ArbitraryStyle.open(threads)
    vectors = {key: teacher.style_vector(painting_bgr)}
    t0, last = time.monotonic(), 0.0
    for i, source in enumerate(sources, 1):
        cache.paint(source, vectors, teacher)
        if time.monotonic() - last > 5 or i == len(sources):
            last = time.monotonic()
            say(f"teacher paintings {i}/{len(sources)} ({last - t0:.0f} s)")
    pairs = [(cache.content_path(s.set_name, s.stem), cache.painting_path(key, s.set_name, s.stem)) for s in sources]
    return PairedCrops([pairs], [key])


def with_new_row(base: StyleNet, init: int | None = None) -> StyleNet:
    """``base`` with one more style whose rows are those of style ``init`` (an index), or the mean."""
    net = StyleNet(base.styles + 1, width=base.width, blocks=base.blocks)
    state = base.state_dict()
    for key, value in list(state.items()):
        if key.endswith(ROWS):
            row = value.mean(0) if init is None else value[init]
            state[key] = torch.cat([value, row[None]])
    net.load_state_dict(state)
    return net


def frozen_but_new_rows(net: StyleNet) -> list[torch.nn.Parameter]:
    """Freeze every weight; the instance norm tables train (only their last row gets gradients:
    the style vector is one-hot on it)."""
    params = []
    for name, p in net.named_parameters():
        p.requires_grad_(name.endswith(ROWS))
        if p.requires_grad:
            params.append(p)
    return params


def best_start(
    base: StyleNet,
    names: list[str],
    data: PairedCrops,
    loss_of: DistillLoss,
    rng: np.random.Generator,
    n: int,
    crop: int,
) -> tuple[str, StyleNet]:
    """The candidate start (each of the network's styles ``names``, and their mean) with the lowest
    pixel + feature loss on one batch."""
    x, t, _ = data.batch(rng, n, crop, [0] * n)
    best: tuple[float, str, StyleNet] | None = None
    no_temporal = DistillLoss(loss_of.vgg, loss_of.pixel_weight, loss_of.feature_weight, 0.0, loss_of.texture_weight)
    for i in [*range(base.styles), None]:
        net = with_new_row(base, i)
        onehot = F.one_hot(torch.full((n,), base.styles), base.styles + 1).float()
        with torch.no_grad():
            loss, _ = no_temporal(net, x, t, onehot, rng)
        label = "mean" if i is None else (names[i] if i < len(names) else f"style {i}")
        if best is None or float(loss) < best[0]:
            best = (float(loss), label, net)
    assert best is not None
    return best[1], best[2]


def add_style(
    config: AddStyleConfig,
    painting_bgr: np.ndarray,
    base_weights: Path | None = None,
    cache: PaintingCache | None = None,
    folder: Path | None = None,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> AddedStyle:
    """Learn ``config.name`` from ``painting_bgr`` (checked by the caller: ``deepphoto.commands.add_style``)
    into a new row of ``base_weights`` (the shipped StyleNet) and save it as a user style."""
    start = time.monotonic()
    deadline = start + config.minutes * 60
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    base_path = Path(base_weights) if base_weights else SHIPPED["stylenet"]
    cache = cache or PaintingCache()
    digest = sha256_of(config.painting)
    sources = small_content(config.images, config.content)
    say(f"{len(sources)} content images; the teacher paints them in the style of {config.painting.name}")
    data = teacher_paintings(painting_bgr, sources, config.threads or None, cache, f"user-{digest[:16]}", digest)

    base = load_stylenet(base_path)  # a path: the shipped network alone, without user styles
    vgg = load_vgg19(FEATURE_LAYERS[-1])
    weights = (config.pixel_weight, config.feature_weight, config.temporal_weight, config.texture_weight)
    loss_of = DistillLoss(vgg, *weights)
    rng = np.random.default_rng([config.seed, 10**6])  # not a training step's generator
    init, net = best_start(base, style_names(base_path), data, loss_of, rng, config.batch, config.crop)
    params = frozen_but_new_rows(net)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.Adam(params, lr=config.lr)
    slot = base.styles
    onehot = F.one_hot(torch.full((config.batch,), slot), slot + 1).float()
    until = f"{config.steps} steps or {config.minutes:g} minutes" if config.steps else f"{config.minutes:g} minutes"
    say(f"training the new style's rows (start: {init}) for {until}, whichever ends first")

    step, first, recent, last_said = 0, None, [], time.monotonic()
    train_start = last_said
    net.train()
    while step == 0 or (time.monotonic() < deadline and (not config.steps or step < config.steps)):
        spent = (time.monotonic() - start) / (config.minutes * 60)
        fraction = max(spent, step / config.steps if config.steps else 0.0)
        for g in opt.param_groups:  # cosine decay over the budget
            g["lr"] = config.lr * float(0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(1.0, fraction))))
        rng = np.random.default_rng([config.seed, step])
        x, t, _ = data.batch(rng, config.batch, config.crop, [0] * config.batch)
        loss, parts = loss_of(net, x, t, onehot, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        first = parts if first is None else first
        recent = (recent + [parts["loss"]])[-20:]
        if on_step is not None:
            on_step(step, parts)
        if time.monotonic() - last_said > 10:
            last_said = time.monotonic()
            left = max(0.0, deadline - last_said)
            per = (last_said - train_start) / step
            loss_now = f"loss {np.mean(recent):.4f} (at first {first['loss']:.4f})"
            say(f"step {step} ({per:.2f} s each), {loss_now}, {left:.0f} s left")

    state = net.state_dict()
    frozen = {k: (v[:slot] if k.endswith(ROWS) else v) for k, v in state.items()}
    changed = [k for k, v in frozen.items() if not torch.equal(v, before[k][: len(v)])]
    if changed:  # the shipped styles must paint as before: only the new row may move
        raise DeepPhotoError(f"internal error: a frozen weight changed while learning the new style ({changed[0]})")
    rows = {k: v[slot].detach().cpu().numpy().astype(np.float32) for k, v in state.items() if k.endswith(ROWS)}
    seconds = time.monotonic() - start
    meta = {
        "title": config.painting.name,
        "painting_sha256": digest,
        "steps": step,
        "seconds": round(seconds, 1),
        "images": len(sources),
        "crop": config.crop,
        "batch": config.batch,
        "texture_weight": config.texture_weight,
        "init": init,
        "loss_start": round(first["loss"], 5) if first else "",
        "loss_end": round(float(np.mean(recent)), 5),
    }
    path = save_user_style(config.name, rows, sha256_of(base_path), painting_bgr, meta, folder, config.replace)
    return AddedStyle(path, step, seconds, first["loss"] if first else 0.0, float(np.mean(recent)), init)
