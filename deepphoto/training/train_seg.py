"""Train LightNet. Read top to bottom: data, model, loop, checkpoints, export.

    train(SegTrainConfig(data=Path("../shared/data"), out=Path("runs/seg"), steps=4000))

or ``deepphoto train-seg --data ../shared/data --out runs/seg --steps 4000``. Resumes from
``OUT/last.pt`` when it exists (or from ``--resume FILE`` when that is further on). Uses CUDA when
available, else all CPU cores. The validation splits are never sampled (``seg_data.is_validation``,
``datasets.pairs(..., "train")``). ``--mix v1`` (default) trains as LightNet v1 did; ``--mix v2``
draws ``seg_mix.MixData`` samples with soft targets and the losses of ``seg_losses``.

Every step draws its data from a generator seeded by (seed, step), so a resumed run draws the same
batches as one that never stopped.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deepphoto.assets import mobilenet_v2_imagenet
from deepphoto.errors import DeepPhotoError
from deepphoto.models.lightnet import LightNet, arch_of, lightnet_of
from deepphoto.models.mobilenet_v2 import MobileNetV2
from deepphoto.models.weights import read_weights, save_weights
from deepphoto.training import checkpoints, seg_losses
from deepphoto.training.config import SegTrainConfig
from deepphoto.training.seg_data import SegTrainingData

FINE_PREFIX = "fine_"  # the fine level's tensors: the only ones an --init may lack


def imagenet_lightnet(width: int, fine_level: int = 0, crp_stages: int = 4) -> LightNet:
    """A LightNet whose encoder starts from the ImageNet MobileNetV2 (loaded strictly)."""
    imagenet = MobileNetV2()
    imagenet.load_state_dict(torch.load(mobilenet_v2_imagenet(), map_location="cpu", weights_only=True), strict=True)
    net = LightNet(width=width, crp_stages=crp_stages, fine_level=fine_level)
    net.backbone.features.load_state_dict(imagenet.features[:18].state_dict(), strict=True)
    return net


def encoder_from(weights: Path, width: int, fine_level: int = 0, crp_stages: int = 4) -> LightNet:
    """A new decoder of the given shape on the encoder of the LightNet ``weights`` (e.g. a smaller
    decoder on a better-trained encoder); the encoder's tensors are loaded strictly."""
    state, _ = read_weights(weights, kind="lightnet")
    prefix = "backbone."
    encoder = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    net = LightNet(width=width, crp_stages=crp_stages, fine_level=fine_level)
    try:
        net.backbone.load_state_dict(encoder, strict=True)
    except RuntimeError as exc:
        raise DeepPhotoError(f"{weights}: its encoder does not fit LightNet's MobileNetV2") from exc
    print(f"init: the encoder's {len(encoder)} tensors from {weights}; a new decoder", flush=True)
    return net


START_WEIGHTS = "start.safetensors"  # in the run folder: the weights of step 0 (a grown level included)


def initialised_lightnet(weights: Path, fine_level: int | None = None) -> LightNet:
    """LightNet with ``fine_level`` (None: the one ``weights`` have) whose every other tensor comes
    from ``weights`` (e.g. the shipped network): only the fine level's tensors may be missing there
    (a level grown on a network without one), and nothing may be left over."""
    state, config = read_weights(weights, kind="lightnet")
    own = int(config.get("fine_level", 0))
    if fine_level is None:
        fine_level = own
    elif own and fine_level != own:
        raise DeepPhotoError(f"{weights}: has a finer level of {own} channels: leave --fine-level out, or give {own}")
    net = lightnet_of({**config, "fine_level": fine_level})
    shapes = net.state_dict()
    wrong = [k for k, v in state.items() if k in shapes and v.shape != shapes[k].shape]
    if wrong:
        raise DeepPhotoError(f"{weights}: weights do not fit this LightNet (e.g. {wrong[0]!r} has another shape)")
    missing, unexpected = net.load_state_dict(state, strict=False)
    wrong = [k for k in missing if not k.startswith(FINE_PREFIX)] + list(unexpected)
    if wrong:
        raise DeepPhotoError(f"{weights}: weights do not fit this LightNet (e.g. {wrong[0]!r})")
    new = f"; new, not in it: {', '.join(missing)}" if missing else ""
    print(f"init: {len(state)} tensors from {weights}, every one loaded{new}", flush=True)
    return net


def seg_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy plus a soft-IoU term, at the input resolution."""
    logits = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
    ce = F.cross_entropy(logits, target)
    p = logits.softmax(1)[:, 1]
    t = target.float()
    inter = (p * t).sum((1, 2))
    union = (p + t - p * t).sum((1, 2))
    soft_iou = ((inter + 1) / (union + 1)).mean()
    return ce + (1 - soft_iou)


def train_mode(net: torch.nn.Module, freeze_bn: bool = False) -> None:
    """Training mode; with ``freeze_bn`` the BatchNorm layers normalise with their running
    statistics (which stop updating), as at inference — small CPU batches make batch statistics
    noisy, and fine-tuning then optimises exactly the network that will be deployed."""
    net.train()
    if freeze_bn:
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()


def lr_at(step: int, steps: int, warmup: int = 100) -> float:
    """Linear warm-up, then cosine decay to 2% of the base rate."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def v2_step_loss(
    net: torch.nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    config: SegTrainConfig,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The v2 loss of one batch: soft targets with the edge band, and for the first
    ``consistency`` share of the batch a moved, re-lit copy whose prediction should match."""
    copies = round(config.consistency * len(x))
    theta = None
    if copies:
        theta = seg_losses.random_moves(copies, rng).to(x.device)
        moved, _ = seg_losses.move(x[:copies], theta)
        x = torch.cat([x, seg_losses.relight(moved, rng)])
    logits = net(x.contiguous(memory_format=torch.channels_last))
    n = len(target)
    supervised = seg_losses.soft_loss(
        logits[:n], target, weight, config.edge_weight, config.near_weight, config.near_from
    )
    parts = {"supervised": supervised.item()}
    loss = supervised
    if theta is not None:
        steady = seg_losses.consistency(logits[:n], logits[n:], theta)
        parts["consistency"] = steady.item()
        loss = loss + config.consistency_weight * steady
    return loss, parts


def train(config: SegTrainConfig) -> Path:
    """Train (or resume) the run ``config`` describes; returns the checkpoint ``out / "last.pt"``."""
    device = checkpoints.prepare_run(config.out, config.threads, config.seed)
    if config.mix != "v1":
        from deepphoto.training import hard_examples
        from deepphoto.training.seg_mix import MIXES_V2, MixData

        hard = hard_examples.read(config.hard_examples, config.data) if config.hard_examples else None
        data: SegTrainingData | MixData = MixData(
            config.data,
            MIXES_V2[config.mix],
            seed=config.seed,
            hard=hard,
            hard_share=config.hard_share,
            close_ups=config.close_ups,
        )
    else:
        data = SegTrainingData(
            config.data,
            config.composite_share,
            config.seed,
            config.distractors,
            config.skip_portraits,
            config.copy_paste,
        )

    if config.init:
        net = initialised_lightnet(config.init, config.fine_level).to(device)
    elif config.init_encoder:
        net = encoder_from(config.init_encoder, config.width, config.fine_level or 0, config.crp_stages).to(device)
    else:
        net = imagenet_lightnet(config.width, config.fine_level or 0, config.crp_stages).to(device)
    net = net.to(memory_format=torch.channels_last)  # a 352 px step on CPU: 0.82 s vs 1.82 s NCHW
    encoder = list(net.backbone.parameters())
    encoder_ids = {id(p) for p in encoder}
    decoder = [p for p in net.parameters() if id(p) not in encoder_ids]
    opt = torch.optim.AdamW(
        [{"params": encoder, "lr": config.lr / 4}, {"params": decoder, "lr": config.lr}], weight_decay=1e-4
    )
    base_lrs = [g["lr"] for g in opt.param_groups]

    ckpt = config.out / "last.pt"
    step = checkpoints.resume(ckpt, net, opt, device, also=config.resume)
    checkpoints.run_folder(config.out)  # only now: a refused run leaves no empty folder
    start = config.out / START_WEIGHTS
    if step == 0 and not start.exists():  # where the run starts: WiSE-FT averages it with where it ends
        save_weights(net, start, kind="lightnet", config=arch_of(net))

    log = open(config.out / "log.jsonl", "a")
    t0, seen, running, parts = time.time(), 0, [], {}
    train_mode(net, config.freeze_bn)
    while step < config.steps:
        rng = np.random.default_rng([config.seed, step])  # by step: a resumed run draws the same
        data.rng = rng
        size = int(rng.choice(config.sizes))
        batch = [data.sample((size, size)) for _ in range(config.batch)]
        # NHWC arrays permuted to NCHW views are already channels-last in memory
        x = torch.from_numpy(np.stack([b[0] for b in batch])).permute(0, 3, 1, 2).to(device)

        for g, base in zip(opt.param_groups, base_lrs):
            g["lr"] = base * lr_at(step, config.steps)
        if config.mix != "v1":
            target = torch.from_numpy(np.stack([b[1] for b in batch])).to(device)
            weight = torch.from_numpy(np.stack([b[2] for b in batch])).to(device)
            loss, step_parts = v2_step_loss(net, x, target, weight, config, rng)
            for k, v in step_parts.items():
                parts.setdefault(k, []).append(v)
        else:
            y = torch.from_numpy(np.stack([b[1] for b in batch])).long().to(device)
            loss = seg_loss(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

        step += 1
        seen += len(batch)
        running.append(loss.item())
        if step % 20 == 0 or step == config.steps:
            rate = seen / (time.time() - t0)
            eta = (config.steps - step) * config.batch / max(rate, 1e-9)
            rec = {
                "step": step,
                "loss": float(np.mean(running)),
                "img_per_s": round(rate, 2),
                "lr": opt.param_groups[1]["lr"],
                "eta_min": round(eta / 60, 1),
                **{k: round(float(np.mean(v)), 5) for k, v in parts.items()},
            }
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            running, parts = [], {}
        if step % config.save_every == 0 or step == config.steps:
            checkpoints.save(ckpt, net, opt, step, **arch_of(net), mix=config.mix)
            checkpoints.keep_last(ckpt, step, config.keep_last)
    log.close()
    if config.export:
        save_weights(net.cpu(), config.export, kind="lightnet", config=arch_of(net))
        print(f"wrote {config.export}")
    return ckpt
