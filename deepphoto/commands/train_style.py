"""``deepphoto train-style``: train the multi-style StyleNet (``deepphoto.training.train_style``).

Options and defaults are ``StyleTrainConfig``'s; PyTorch loads only when the run starts.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from deepphoto.assets import shared_data
from deepphoto.commands.options import SHARED_DATA_HELP, count, names, real
from deepphoto.training.config import CROP_DISTILL, CROP_V1, StyleTrainConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = StyleTrainConfig()
    p.add_argument("--data", type=Path, default=shared_data(), help=SHARED_DATA_HELP)
    p.add_argument("--out", type=Path, default=d.out, help="checkpoint folder")
    p.add_argument("--steps", type=count("--steps"), default=d.steps)
    p.add_argument("--batch", type=count("--batch"), default=d.batch)
    p.add_argument(
        "--crop",
        type=count("--crop"),
        default=d.crop,
        help=f"training crop size (multiple of 8; default {CROP_V1}, {CROP_DISTILL} with --distill)",
    )
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
        "--init",
        type=Path,
        default=d.init,
        help="start from these StyleNet weights (e.g. the shipped ones; with --distill the shipped ones by default)",
    )
    v2 = p.add_argument_group("StyleNet v2 (--distill): learn the arbitrary-style teacher's paintings")
    v2.add_argument(
        "--distill",
        action="store_true",
        help="learn the teacher's cached paintings (run 'deepphoto paint-teacher' first): pixel, VGG feature "
        "and temporal losses",
    )
    v2.add_argument("--teacher", type=Path, default=d.teacher, help="teacher paintings cache (default: in the cache)")
    v2.add_argument(
        "--styles",
        type=names("--styles"),
        default=d.styles,
        help="comma-separated styles, in row order (default: every shared painting)",
    )
    v2.add_argument("--pixel-weight", type=real("--pixel-weight"), default=d.pixel_weight)
    v2.add_argument("--feature-weight", type=real("--feature-weight"), default=d.feature_weight)
    v2.add_argument(
        "--texture-weight",
        type=real("--texture-weight"),
        default=d.texture_weight,
        help="Gram matrices of VGG features against the teacher's painting (brush strokes; 0: off)",
    )
    v2.add_argument("--resume", type=Path, default=d.resume, help="resume from this checkpoint if it is further on")
    v2.add_argument(
        "--keep-last", type=count("--keep-last"), default=d.keep_last, help="keep the last N saves as step-N.pt"
    )
    grow = "(a resumed run keeps its shape)"
    for name, default, what in (
        (
            "--blocks",
            d.blocks,
            "grow the --init network to this many residual blocks; the new ones start as "
            f"identities, so it paints as --init did at step 0 {grow}",
        ),
        (
            "--mid",
            d.mid,
            "widen the --init network's way up to this many channels at 1/4 of the frame; the new "
            f"channels start silent, so it paints as --init did at step 0 {grow}",
        ),
        ("--fine", d.fine, f"likewise at 1/2 of the frame {grow}"),
    ):
        v2.add_argument(name, type=count(name), default=default, help=what)


def config_from_args(args: argparse.Namespace) -> StyleTrainConfig:
    return StyleTrainConfig(**{f.name: getattr(args, f.name) for f in fields(StyleTrainConfig)})


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)  # options checked before PyTorch loads
    if config.distill:
        from deepphoto.teachers.paintings import parse_styles

        if config.styles:
            parse_styles(",".join(config.styles))  # names checked before PyTorch loads
        from deepphoto.training.distill import train_distill

        train_distill(config)
        return 0
    from deepphoto.training.train_style import train

    train(config)
    return 0
