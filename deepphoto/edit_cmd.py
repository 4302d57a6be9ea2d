"""``deepphoto edit IN OUT``: one photo, the effect applied to one region."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepphoto.errors import DeepPhotoError
from deepphoto.run_cmd import add_look_arguments, make_processor
from deepphoto.stream.sinks import write_image_atomic
from deepphoto.stream.sources import IMAGE_SUFFIXES, read_image


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, metavar="IN", help="photo to edit")
    p.add_argument("output", type=Path, metavar="OUT", help="edited photo (.jpg, .png, ...)")
    add_look_arguments(p)


def run(args: argparse.Namespace) -> int:
    processor = make_processor(args)
    if args.output.suffix.lower() not in IMAGE_SUFFIXES:
        raise DeepPhotoError(f"{args.output}: unknown image type (use {', '.join(IMAGE_SUFFIXES)})")
    if not args.output.parent.is_dir():
        raise DeepPhotoError(f"{args.output.parent}: output folder does not exist")
    if args.output.exists() and not args.overwrite:
        raise DeepPhotoError(f"{args.output}: already exists (use --overwrite to replace it)")
    image = read_image(args.input)
    processor.smoother.smooth = 0.0  # one photo: nothing to smooth over
    write_image_atomic(args.output, processor(image))
    print(f"wrote {args.output.resolve()} ({image.shape[1]}x{image.shape[0]}, {args.effect} on the {args.region})")
    return 0
