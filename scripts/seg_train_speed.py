"""How fast LightNet trains here, in images a second, split into its two halves: the training step
(the v2 loss with its moved copies, backward, AdamW) on the device PyTorch picks, and the sampling
of training images on the CPU (decode, crop, augment: what ``train-seg`` does on its main thread),
where the shared data is present. Decides whether a GPU run needs data-loading workers.

    python scripts/seg_train_speed.py --batch 8 --size 288           # this CPU
    python scripts/seg_train_speed.py --batch 64 --size 288 --steps 30  # a GPU
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from deepphoto.models.shipped import SHIPPED
from deepphoto.training.config import SegTrainConfig
from deepphoto.training.train_seg import initialised_lightnet, v2_step_loss


def step_rate(batch: int, size: int, steps: int, device: torch.device, bf16: bool) -> float:
    """Images a second through the v2 training step (the run's own settings: edge band, a quarter
    of each batch given moved, re-lit copies), on random pictures and soft targets."""
    config = SegTrainConfig(mix="v2b", edge_weight=4.0, consistency=0.25)
    net = initialised_lightnet(SHIPPED["lightnet"]).to(device).to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    x = torch.rand(batch, 3, size, size, device=device)
    target = (torch.rand(batch, size // 4, size // 4, device=device) > 0.5).float()
    weight = torch.ones_like(target)
    done, start = 0, 0.0
    for i in range(steps + 3):  # three warm-up steps
        if i == 3:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss, _ = v2_step_loss(net, x, target, weight, config, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done += batch if i >= 3 else 0
    if device.type == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def sample_rate(data: Path, size: int, count: int) -> float | None:
    """Training images a second sampled on one CPU thread (the v2b mix), or None without the data."""
    if not (data / "seg" / "portraits").is_dir():
        return None
    from deepphoto.training.seg_mix import MIXES_V2, MixData

    mix = MixData(data, MIXES_V2["v2b"], seed=0)
    mix.rng = np.random.default_rng(0)
    mix.sample((size, size))
    start = time.perf_counter()
    for _ in range(count):
        mix.sample((size, size))
    return count / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=288)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--samples", type=int, default=40, help="training images sampled to time the CPU side")
    p.add_argument("--data", type=Path, default=SegTrainConfig().data)
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; batch {args.batch} at {args.size}x{args.size}")
    print(f"training step, float32: {step_rate(args.batch, args.size, args.steps, device, False):.1f} images/s")
    if device.type == "cuda":
        rate = step_rate(args.batch, args.size, args.steps, device, True)
        print(f"training step, bf16 autocast: {rate:.1f} images/s")
    rate = sample_rate(args.data, args.size, args.samples)
    print("sampling, one CPU thread: " + ("no shared data here" if rate is None else f"{rate:.1f} images/s"))


if __name__ == "__main__":
    main()
