"""``deepphoto train-seg``: train the LightNet person segmenter (``deepphoto.training.train_seg``).

Options and defaults are ``SegTrainConfig``'s; PyTorch loads only when the run starts.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from deepphoto.assets import shared_data
from deepphoto.commands.options import SHARED_DATA_HELP, count, real
from deepphoto.training.config import MIXES, SegTrainConfig


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
    p.add_argument("--data", type=Path, default=shared_data(), help=SHARED_DATA_HELP)
    p.add_argument("--out", type=Path, default=d.out, help="checkpoint folder")
    p.add_argument("--steps", type=count("--steps"), default=d.steps)
    p.add_argument("--batch", type=count("--batch"), default=d.batch)
    p.add_argument("--lr", type=real("--lr"), default=d.lr, help="decoder learning rate (encoder: lr/4)")
    p.add_argument("--width", type=count("--width"), default=d.width, help="decoder channels")
    p.add_argument("--composite-share", type=real("--composite-share"), default=d.composite_share)
    p.add_argument(
        "--distractors",
        type=real("--distractors"),
        default=d.distractors,
        help="share of samples given a person-shaped scenery patch",
    )
    p.add_argument(
        "--copy-paste",
        type=real("--copy-paste"),
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
    p.add_argument("--save-every", type=count("--save-every"), default=d.save_every)
    p.add_argument("--seed", type=count("--seed"), default=d.seed)
    p.add_argument("--threads", type=count("--threads"), default=d.threads, help="CPU threads (default: all cores)")
    p.add_argument("--export", type=Path, default=d.export, help="write safetensors weights here at the end")
    p.add_argument(
        "--init",
        type=Path,
        default=d.init,
        help="start from these LightNet weights (e.g. the shipped ones) instead of ImageNet",
    )
    p.add_argument(
        "--init-encoder",
        type=Path,
        default=d.init_encoder,
        help="a new decoder (--width, --crp-stages, --fine-level) on the encoder of these LightNet weights",
    )
    p.add_argument(
        "--crp-stages",
        type=count("--crp-stages"),
        default=d.crp_stages,
        help="pooling stages of each CRP block of a new decoder (default 4, as v1)",
    )
    p.add_argument(
        "--mix",
        choices=MIXES,
        default=d.mix,
        help="data mix: v1 (portraits, composites, copy-paste), v2 (five labelled sets, teacher labels, "
        "clip frames, composites, copy-paste; soft targets), v2b (v2 with more portraits and composites) "
        "v11 (v2b with the real-mask sets' share raised and the teacher-labelled sources' lowered) or v13 "
        "(v11 with the portraits set's share raised)",
    )
    p.add_argument(
        "--fine-level",
        type=count("--fine-level"),
        default=d.fine_level,
        help="channels of an extra 1/2-resolution decoder level (0: none; default: --init's own, else none; "
        "--init weights without it are loaded for every other layer, and it is grown)",
    )
    p.add_argument(
        "--edge-weight",
        type=real("--edge-weight"),
        default=d.edge_weight,
        help="v2: extra loss weight within a band of 2%% of the diagonal around the target's edges",
    )
    p.add_argument(
        "--near-weight",
        type=real("--near-weight"),
        default=d.near_weight,
        help="v2: extra loss weight on background pixels within 8%% of the diagonal of the person "
        "(things touching or behind the person taken for the person)",
    )
    p.add_argument(
        "--near-from",
        type=real("--near-from"),
        default=d.near_from,
        help="v2: the --near-weight band starts this far outside the person (share of the diagonal; "
        "default 0: at the outline)",
    )
    p.add_argument(
        "--consistency",
        type=real("--consistency"),
        default=d.consistency,
        help="v2: share of each batch given a moved, re-lit copy whose mask must match",
    )
    p.add_argument("--consistency-weight", type=real("--consistency-weight"), default=d.consistency_weight)
    p.add_argument(
        "--keep-last",
        type=count("--keep-last"),
        default=d.keep_last,
        help="also keep the last N saved checkpoints as OUT/step-NNNNNN.pt (for a pre-registered average)",
    )
    p.add_argument(
        "--hard-examples",
        type=Path,
        default=d.hard_examples,
        help="v2: training images to draw more often, mined by scripts/mine_hard_examples.py",
    )
    p.add_argument(
        "--hard-share",
        type=real("--hard-share"),
        default=d.hard_share,
        help="v2: share of samples drawn from --hard-examples (the mix's shares make room)",
    )
    p.add_argument(
        "--close-ups",
        type=real("--close-ups"),
        default=d.close_ups,
        help="v2: share of samples (photos, clip frames, copy-paste bases, hard examples; not the "
        "composites) cropped close around a person (10-45%% of the picture: a torso without a head, "
        "half a face at the edge), as a zoomed webcam or video shows them",
    )
    p.add_argument(
        "--resume",
        type=Path,
        default=d.resume,
        help="continue from this checkpoint (OUT/last.pt of another machine, or a compact one from "
        "'deepphoto export lightnet --resume-checkpoint'); OUT/last.pt wins when it is further on",
    )


def config_from_args(args: argparse.Namespace) -> SegTrainConfig:
    return SegTrainConfig(**{f.name: getattr(args, f.name) for f in fields(SegTrainConfig)})


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)  # options checked before PyTorch loads
    from deepphoto.training.train_seg import train

    train(config)
    return 0
