"""Train the multi-style StyleNet. Read top to bottom: data, loss network, model, loop, export.

    train(StyleTrainConfig(data=Path("../shared/data"), out=Path("runs/style"), steps=3000))

or ``deepphoto train-style --data ../shared/data --out runs/style --steps 3000``. Per step: a batch
of content crops, each with a random style; the loss is the content and style loss of the design on
VGG19 features, plus a temporal term: stylising a shifted crop must give the shifted stylisation
(so a still background does not shimmer). Resumes from ``OUT/last.pt``.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from deepphoto.models.style_losses import CONTENT_LAYER, STYLE_LAYERS, content_loss, gram
from deepphoto.models.stylenet import StyleNet
from deepphoto.models.vgg import load_vgg19, vgg_input
from deepphoto.models.weights import save_weights
from deepphoto.training import checkpoints
from deepphoto.training.config import StyleTrainConfig
from deepphoto.training.style_data import STYLE_SOURCES, style_images, training_content

CONTENT_SCALE = 1e5  # relu4_1 squared differences of VGG's 0-255 input are ~1e5 for an unrelated image


def random_crops(images: list[np.ndarray], n: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    crops = []
    for _ in range(n):
        img = images[rng.integers(len(images))]
        scale = rng.uniform(size / min(img.shape[:2]), 1.0)
        if scale < 1:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        y = rng.integers(0, img.shape[0] - size + 1)
        x = rng.integers(0, img.shape[1] - size + 1)
        crop = img[y : y + size, x : x + size]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        crops.append(cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_BGR2RGB))
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255


def normalised_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).pow(2).flatten(1).mean(1)


def train(config: StyleTrainConfig) -> Path:
    """Train (or resume) the run ``config`` describes; returns the checkpoint ``out / "last.pt"``."""
    device = checkpoints.prepare_run(config.out, config.threads, config.seed)

    # Data: content images in memory; the style Gram targets computed once.
    content = training_content(config.data)
    print(f"{len(content)} content images, {len(STYLE_SOURCES)} styles", flush=True)
    vgg = load_vgg19(max(STYLE_LAYERS + (CONTENT_LAYER,))).to(device)
    layers = tuple(sorted(set(STYLE_LAYERS) | {CONTENT_LAYER}))
    with torch.no_grad():
        grams = []
        for img in style_images(config.data):
            rgb = torch.from_numpy(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).permute(2, 0, 1)[None].float() / 255
            feats = vgg(vgg_input(rgb.to(device)), STYLE_LAYERS)
            # Normalised per position, so a style image of any size matches crops of any size.
            grams.append({k: gram(v) / (v.shape[2] * v.shape[3]) for k, v in feats.items()})
    style_grams = {k: torch.cat([g[k] for g in grams]) for k in STYLE_LAYERS}  # (styles, C, C)

    if config.init:
        from deepphoto.models.styles import load_stylenet

        net = load_stylenet(config.init).to(device)
    else:
        net = StyleNet(len(STYLE_SOURCES)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    ckpt = config.out / "last.pt"
    step = checkpoints.resume(ckpt, net, opt, device)
    checkpoints.run_folder(config.out)  # only now: a refused run leaves no empty folder
    rng = np.random.default_rng(config.seed + step)

    log = open(config.out / "log.jsonl", "a")
    t0, n0 = time.time(), step
    sums: dict[str, float] = {}
    summed = 0  # steps in ``sums``: 10 between logs, fewer at the end or after a resume off a tenth step
    while step < config.steps:
        x = random_crops(content, config.batch, config.crop, rng).to(device)
        idx = torch.from_numpy(rng.integers(0, len(STYLE_SOURCES), config.batch)).to(device)
        onehot = F.one_hot(idx, len(STYLE_SOURCES)).float()
        y = net(x, onehot)

        feats_y = vgg(vgg_input(y), layers)
        with torch.no_grad():
            feats_x = vgg(vgg_input(x), (CONTENT_LAYER,))
        # Losses of the design, normalised per element so the weights stay readable.
        c = feats_y[CONTENT_LAYER]
        l_content = content_loss(c, feats_x[CONTENT_LAYER]) * 2 / c[0].numel()
        targets = {k: style_grams[k][idx] for k in STYLE_LAYERS}
        per_pos = {k: gram(feats_y[k]) / (feats_y[k].shape[2] * feats_y[k].shape[3]) for k in STYLE_LAYERS}
        l_style = sum(
            normalised_mse(per_pos[k], targets[k]) / targets[k].pow(2).flatten(1).mean(1).clamp_min(1e-6)
            for k in STYLE_LAYERS
        ) / len(STYLE_LAYERS)
        loss = config.content_weight * l_content.mean() / CONTENT_SCALE + config.style_weight * l_style.mean()

        l_temporal = torch.zeros(())
        if config.temporal_weight > 0:
            dy, dx = (int(v) for v in rng.integers(-8, 9, 2))
            shifted = torch.roll(x, (dy, dx), (2, 3))
            noisy = (shifted + 0.02 * torch.randn_like(shifted)).clamp(0, 1)
            y_shift = net(noisy, onehot)
            m = 8  # compare away from the wrapped border
            l_temporal = F.mse_loss(y_shift[..., m:-m, m:-m], torch.roll(y, (dy, dx), (2, 3))[..., m:-m, m:-m])
            loss = loss + config.temporal_weight * l_temporal

        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        for k, v in (
            ("loss", loss),
            ("content", l_content.mean()),
            ("style", l_style.mean()),
            ("temporal", l_temporal),
        ):
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        summed += 1
        if step % 10 == 0 or step == config.steps:
            checkpoints.log_progress(log, step, config.steps, {k: v / summed for k, v in sums.items()}, (t0, n0))
            sums, summed = {}, 0
        if step % config.save_every == 0 or step == config.steps:
            checkpoints.save(ckpt, net, opt, step)
    log.close()
    if config.export:
        meta = {
            "styles": [s.name for s in STYLE_SOURCES],
            "steps": step,
            "temporal_weight": config.temporal_weight,
            "crop": config.crop,
        }
        save_weights(net.cpu(), config.export, kind="stylenet", config=meta)
        print(f"wrote {config.export}")
    return ckpt
