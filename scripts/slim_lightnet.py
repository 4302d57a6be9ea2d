"""Cut trained LightNet weights down to a narrower, faster network: the start of a fine-tune.

    .venv/bin/python scripts/slim_lightnet.py OUT.safetensors [--weights W] [--width 96] [--stages 2]

Uses only the training splits of the four labelled person sets (never a validation image):
``--images`` per set to choose the channels and fit the 1x1 heads, as many others to report how
often the cut network agrees with the one it was cut from (person IoU of their masks).
``deepphoto.training.slim`` says what is cut and how.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from deepphoto import datasets
from deepphoto.frames import to_network_input
from deepphoto.models.lightnet import LightNetProb, arch_of
from deepphoto.models.lightnet_io import load_lightnet
from deepphoto.models.weights import save_weights
from deepphoto.training.slim import slim

SETS = ("portraits", "eg-portraits", "selfies", "fashion")
SIZE = (352, 352)


def _images(per_set: int, offset: int) -> list[torch.Tensor]:
    out = []
    for name in SETS:
        for img_path, _ in datasets.pairs(name, "train")[offset : offset + per_set]:
            img = cv2.imread(str(img_path), cv2.IMREAD_COLOR)
            if img is not None:
                out.append(torch.from_numpy(to_network_input(img, SIZE).copy()))
    return out


@torch.no_grad()
def _agreement(a: torch.nn.Module, b: torch.nn.Module, images: list[torch.Tensor]) -> float:
    ious = []
    for x in images:
        pa = torch.nn.functional.interpolate(LightNetProb(a)(x), size=SIZE[::-1], mode="bilinear") > 0.5
        pb = torch.nn.functional.interpolate(LightNetProb(b)(x), size=SIZE[::-1], mode="bilinear") > 0.5
        union = (pa | pb).sum().item()
        ious.append((pa & pb).sum().item() / union if union else 1.0)
    return float(np.mean(ious))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--weights", type=Path, default=None, help="LightNet weights to cut (default: shipped)")
    ap.add_argument("--width", type=int, default=96)
    ap.add_argument("--stages", type=int, default=2)
    ap.add_argument("--images", type=int, default=24, help="training images per set used for the cut")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    net = load_lightnet(args.weights)
    fit, check = _images(args.images, 0), _images(args.images, args.images)
    cut = slim(net, fit, args.width, args.stages)
    print(
        f"cut: width {net.width} -> {cut.width}, pooling stages {net.crp_stages} -> {cut.crp_stages}, "
        f"heads {net.head}x{net.head} -> {cut.head}x{cut.head}; "
        f"agreement with the uncut network on {len(check)} other training images: "
        f"person IoU {_agreement(net, cut, check):.4f}",
        flush=True,
    )
    config = {**arch_of(cut), "cut_from": str(args.weights or "shipped")}
    save_weights(cut, args.out, kind="lightnet", config=config, half=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
