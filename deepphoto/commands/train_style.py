"""``deepphoto train-style``: train the multi-style StyleNet (``deepphoto.training.train_style``).

Options and defaults are ``StyleTrainConfig``'s; PyTorch loads only when the run starts.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from deepphoto.commands.options import count, real
from deepphoto.training.config import StyleTrainConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = StyleTrainConfig()
    p.add_argument("--data", type=Path, default=d.data, help="shared data folder")
    p.add_argument("--out", type=Path, default=d.out, help="checkpoint folder")
    p.add_argument("--steps", type=count("--steps"), default=d.steps)
    p.add_argument("--batch", type=count("--batch"), default=d.batch)
    p.add_argument("--crop", type=count("--crop"), default=d.crop, help="training crop size (multiple of 8)")
    p.add_argument("--lr", type=real("--lr"), default=d.lr)
    p.add_argument("--content-weight", type=real("--content-weight"), default=d.content_weight)
    p.add_argument("--style-weight", type=real("--style-weight"), default=d.style_weight)
    p.add_argument(
        "--temporal-weight",
        type=real("--temporal-weight"),
        default=d.temporal_weight,
        help="0 trains without the temporal term",
    )
    p.add_argument("--save-every", type=count("--save-every"), default=d.save_every)
    p.add_argument("--seed", type=count("--seed"), default=d.seed)
    p.add_argument("--threads", type=count("--threads"), default=d.threads, help="CPU threads (default: all cores)")
    p.add_argument("--export", type=Path, default=d.export, help="write safetensors weights here at the end")
    p.add_argument(
        "--init", type=Path, default=d.init, help="start from these StyleNet weights (e.g. the shipped ones)"
    )


def config_from_args(args: argparse.Namespace) -> StyleTrainConfig:
    return StyleTrainConfig(**{f.name: getattr(args, f.name) for f in fields(StyleTrainConfig)})


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)  # options checked before PyTorch loads
    from deepphoto.training.train_style import train

    train(config)
    return 0
