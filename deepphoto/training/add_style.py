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

The rows kept are those of the best step, not the last: a few content images (``held_out_count``,
evenly spread over the content set) are painted by the teacher but never drawn for a training step;
every ``EVAL_EVERY`` steps, and after the last, the new rows paint fixed crops of them and are scored
against the teacher's paintings with the training loss (``held_out_loss``, no gradients). The rows
of the step with the lowest held-out loss are saved (as ``scripts/add_style_holdout.py`` scores a
learnt row against the teacher on photos it never trained on). One check of 4 crops costs about
half a training step (the same forward passes, no backward pass; measured at the default 128-pixel
crops, batch 4, 2 threads: 0.15 s against 0.28 s): every 10 steps, about 5 % of the training time;
the progress output says what it measured. With a single content image there is nothing to hold
out: the last step is kept, and the output says so.
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
from deepphoto.frames import decode_file
from deepphoto.models.shipped import SHIPPED, style_names
from deepphoto.models.stylenet import StyleNet, shape_of
from deepphoto.models.styles import load_stylenet
from deepphoto.models.user_styles import save_user_style
from deepphoto.models.vgg import load_vgg19
from deepphoto.settings import counted
from deepphoto.teachers.paintings import PaintingCache, Source, small_content
from deepphoto.training.config import AddStyleConfig
from deepphoto.training.distill import FEATURE_LAYERS, DistillLoss
from deepphoto.training.distill_data import PairedCrops, paired_crop, to_tensor

ROWS = (".gamma", ".beta")
EVAL_EVERY = 10  # steps between held-out checks (and one after the last step)
HELD_OUT_MAX = 4  # content images held out of training, at most
HELD_OUT_CROPS = 4  # fixed crops scored per check, spread over the held-out images


@dataclass
class AddedStyle:
    path: Path
    steps: int
    seconds: float
    loss_start: float
    loss_end: float
    init: str  # the style whose rows the new one started from (or 'mean')
    kept_step: int = 0  # the step whose rows were saved (the best on the held-out images)
    held_out: float | None = None  # its held-out loss (None: no image could be held out)


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


def held_out_count(images: int) -> int:
    """How many of ``images`` content images are held out of training for the check: one in
    eight, at least 1 and at most ``HELD_OUT_MAX``; none of a single image."""
    return 0 if images < 2 else min(HELD_OUT_MAX, max(1, images // 8))


def split_held_out(
    pairs: list[tuple[Path, Path]], count: int
) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """(training pairs, held-out pairs): ``count`` pairs evenly spread over ``pairs`` (the content
    is spread over its sets or its video: so is the held-out part) never reach a training step."""
    if count <= 0:
        return list(pairs), []
    n = len(pairs)
    picks = sorted({min(n - 1, int((j + 0.5) * n / count)) for j in range(count)})
    return [p for i, p in enumerate(pairs) if i not in picks], [pairs[i] for i in picks]


def held_out_crops(
    pairs: list[tuple[Path, Path]], crop: int, seed: int, count: int = HELD_OUT_CROPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed (content, teacher) crops of the held-out pairs, decoded once: the same every check."""
    rng = np.random.default_rng([seed, 2 * 10**6])
    xs, ts = [], []
    for i in range(max(count, len(pairs))):
        content, painting = pairs[i % len(pairs)]
        x, t = paired_crop(decode_file(content), decode_file(painting), crop, rng)
        xs.append(x)
        ts.append(t)
    return to_tensor(xs), to_tensor(ts)


def held_out_loss(net: StyleNet, x: torch.Tensor, t: torch.Tensor, slot: int, loss_of: DistillLoss, seed: int) -> float:
    """The training loss of the new style (row ``slot``) on the held-out crops, without gradients;
    the temporal term's shift and noise are fixed, so two checks differ only by the rows."""
    onehot = F.one_hot(torch.full((len(x),), slot), slot + 1).float()
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            loss, _ = loss_of(net, x, t, onehot, np.random.default_rng([seed, 3 * 10**6]))
    finally:
        net.train(was_training)
    return float(loss)


def new_rows(net: StyleNet, slot: int) -> dict[str, torch.Tensor]:
    """A copy of the new style's rows (1,600 numbers): what a check keeps of a step."""
    return {k: v[slot].detach().clone() for k, v in net.state_dict().items() if k.endswith(ROWS)}


def with_new_row(base: StyleNet, init: int | None = None) -> StyleNet:
    """``base`` with one more style whose rows are those of style ``init`` (an index), or the mean."""
    net = StyleNet(base.styles + 1, **shape_of(base))
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
    say(f"{counted(len(sources), 'content image')}; the teacher paints them in the style of {config.painting.name}")
    key = f"user-{digest[:16]}"
    painted = teacher_paintings(painting_bgr, sources, config.threads or None, cache, key, digest)
    train_pairs, held_pairs = split_held_out(painted.pairs[0], held_out_count(len(painted.pairs[0])))
    data = PairedCrops([train_pairs], [key])

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

    held_x = held_t = None
    checks: list[tuple[int, float]] = []  # (step, held-out loss) of every check
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None  # (loss, step, rows): steps 1 on
    check_seconds = 0.0

    def check(at: int) -> None:
        nonlocal best, check_seconds
        assert held_x is not None and held_t is not None
        t0 = time.monotonic()
        value = held_out_loss(net, held_x, held_t, slot, loss_of, config.seed)
        check_seconds += time.monotonic() - t0
        checks.append((at, value))
        if at > 0 and (best is None or value < best[0]):  # the start's rows are a reference, not a candidate
            best = (value, at, new_rows(net, slot))

    if held_pairs:
        held_x, held_t = held_out_crops(held_pairs, config.crop, config.seed)
        names = ", ".join(Path(c).stem for c, _ in held_pairs)
        say(
            f"held-out check: {len(held_pairs)} of {counted(len(painted.pairs[0]), 'content image')} never trained on "
            f"({names}); {counted(len(held_x), 'fixed crop')} scored every {EVAL_EVERY} steps and after the last; "
            "the best step's rows are kept"
        )
        check(0)
        say(f"held-out loss at the start ({init}'s rows): {checks[0][1]:.4f} ({check_seconds:.2f} s a check)")
    else:
        say(f"only {len(painted.pairs[0])} content image: none can be held out for a check, the last step is kept")

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
        if held_pairs and step % EVAL_EVERY == 0:
            check(step)
        if time.monotonic() - last_said > 10:
            last_said = time.monotonic()
            left = max(0.0, deadline - last_said)
            per = (last_said - train_start - check_seconds) / step
            loss_now = f"loss {np.mean(recent):.4f} (at first {first['loss']:.4f})"
            held = f", held-out best {best[0]:.4f} at step {best[1]}" if best else ""
            say(f"step {step} ({per:.2f} s each), {loss_now}{held}, {left:.0f} s left")

    train_seconds = time.monotonic() - train_start
    kept_step, held_out = step, None
    if held_pairs:
        if checks[-1][0] != step:
            check(step)
        assert best is not None
        held_out, kept_step, rows_kept = best
        with torch.no_grad():  # the best step's rows into the new row: only the new row moves
            for k, v in net.state_dict().items():
                if k.endswith(ROWS):
                    v[slot].copy_(rows_kept[k])
        last = checks[-1][1]
        share = 100 * check_seconds / max(train_seconds, 1e-9)
        cost = f"{len(checks)} checks took {check_seconds:.1f} s, {share:.1f} % of the training time"
        if kept_step == step:
            why = f"its held-out loss {held_out:.4f} is the lowest of the checks"
        else:
            why = f"its held-out loss {held_out:.4f} is the lowest of the checks; the last step's was {last:.4f}"
        say(f"kept step {kept_step} of {step}: {why} (at the start {checks[0][1]:.4f}; {cost})")
        if held_out >= checks[0][1]:
            say(f"no step beat the start's rows ({init}) on the held-out images: more --minutes may help")

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
        "kept_step": kept_step,
        "held_out_images": len(held_pairs),
        "held_out_loss": "" if held_out is None else round(held_out, 5),
    }
    path = save_user_style(config.name, rows, sha256_of(base_path), painting_bgr, meta, folder, config.replace)
    return AddedStyle(
        path, step, seconds, first["loss"] if first else 0.0, float(np.mean(recent)), init, kept_step, held_out
    )
