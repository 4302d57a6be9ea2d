"""``deepphoto make-clips``: steadiness test clips made from the shared labelled photos.

Camera shake, zoom, brightness flicker, sensor noise and a person walking across an empty scene,
seeded (the same seed gives the same clips), written to a cache folder outside the repository
(they derive from the shared data). Measure them with ``deepphoto bench --clips FOLDER``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepphoto.commands.options import count
from deepphoto.settings import counted, parse_size, whole


def add_arguments(p: argparse.ArgumentParser) -> None:
    from deepphoto.measure.synthetic_clips import RECIPES, default_folder

    p.add_argument("--out", type=Path, default=None, help=f"folder for the clips (default {default_folder()})")
    p.add_argument("--data", type=Path, default=None, help="shared data folder (default ../shared/data)")
    p.add_argument("--only", default=None, help="comma-separated clip names: " + ", ".join(r.name for r in RECIPES))
    p.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    p.add_argument(
        "--frames", type=count("--frames", 2, 100000), default=90, help="frames per clip (default 90: 3 s at 30 fps)"
    )
    p.add_argument("--seed", type=count("--seed", 0, 2**32 - 1), default=0, help="random seed (default 0)")
    p.add_argument("--list", action="store_true", help="list the clips and what each one films, write nothing")


def run(args: argparse.Namespace) -> int:
    from deepphoto.measure.synthetic_clips import RECIPES, default_folder, write_clips

    if args.list:
        for r in RECIPES:
            print(f"{r.name:22} {r.describe()}")
        return 0
    size = parse_size(args.size, "--size", 4096)
    count = whole("--frames", args.frames, 2, 100000)
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    out = args.out or default_folder()
    written = write_clips(out, names, size, count, args.seed, args.data)
    print(f"wrote {counted(len(written), 'clip')} ({size[0]}x{size[1]}, {count} frames, seed {args.seed}) to {out}")
    return 0
