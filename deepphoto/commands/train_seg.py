"""``deepphoto train-seg``: train the LightNet person segmenter (``deepphoto.training.train_seg``).

Options and defaults are ``SegTrainConfig``'s; PyTorch loads only when the run starts.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from deepphoto.training.config import SegTrainConfig


def size_list(text: str) -> list[int]:
    """``--sizes``: comma-separated square sizes, multiples of 32."""
    try:
        sizes = [int(v) for v in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(v <= 0 or v % 32 for v in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: give sizes as multiples of 32, e.g. 320,352,384")
    return sizes


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = SegTrainConfig()
    p.add_argument("--data", type=Path, default=d.data, help="shared data folder")
    p.add_argument("--out", type=Path, default=d.out, help="checkpoint folder")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--lr", type=float, default=d.lr, help="decoder learning rate (encoder: lr/4)")
    p.add_argument("--width", type=int, default=d.width, help="decoder channels")
    p.add_argument("--composite-share", type=float, default=d.composite_share)
    p.add_argument(
        "--distractors", type=float, default=d.distractors, help="share of samples given a person-shaped scenery patch"
    )
    p.add_argument(
        "--copy-paste",
        type=float,
        default=d.copy_paste,
        help="share of samples given the people of another training portrait, pasted in",
    )
    sizes = ",".join(map(str, d.sizes))
    p.add_argument(
        "--sizes", type=size_list, default=d.sizes, help=f"training sizes, one drawn per batch (default {sizes})"
    )
    p.add_argument(
        "--skip-portraits",
        type=lambda t: [v for v in t.split(",") if v],
        default=d.skip_portraits,
        help="training portraits (file stems, comma-separated) left out, e.g. ones whose mask is wrong",
    )
    p.add_argument(
        "--freeze-bn",
        action="store_true",
        default=d.freeze_bn,
        help="keep BatchNorm statistics fixed (fine-tuning: trains the network inference runs)",
    )
    p.add_argument("--save-every", type=int, default=d.save_every)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads, help="CPU threads (default: all cores)")
    p.add_argument("--export", type=Path, default=d.export, help="write safetensors weights here at the end")
    p.add_argument(
        "--init",
        type=Path,
        default=d.init,
        help="start from these LightNet weights (e.g. the shipped ones) instead of ImageNet",
    )


def config_from_args(args: argparse.Namespace) -> SegTrainConfig:
    return SegTrainConfig(**{f.name: getattr(args, f.name) for f in fields(SegTrainConfig)})


def run(args: argparse.Namespace) -> int:
    from deepphoto.training.train_seg import train

    train(config_from_args(args))
    return 0
