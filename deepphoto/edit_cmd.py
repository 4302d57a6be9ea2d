"""``deepphoto edit IN OUT``: one photo, the effect applied to one region."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.run_cmd import add_look_arguments, make_processor
from deepphoto.stream.pipeline import Look
from deepphoto.stream.sinks import write_image_atomic
from deepphoto.stream.sources import IMAGE_SUFFIXES, read_image


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, metavar="IN", help="photo to edit")
    p.add_argument("output", type=Path, metavar="OUT", help="edited photo (.jpg, .png, ...)")
    add_look_arguments(p)
    p.add_argument(
        "--method",
        default="fast",
        choices=("fast", "optimize"),
        help="fast: the style network; optimize: the slow photo-quality optimiser (minutes)",
    )
    p.add_argument("--style-image", type=Path, help="with --method optimize: any painting as the style")
    p.add_argument("--size", type=int, default=512, help="with --method optimize: long side of the result")
    p.set_defaults(style_scale=1.0)  # a photo is painted at full size


def optimized(image: np.ndarray, style: str | None, painting: Path | None, size: int) -> np.ndarray:
    from deepphoto.models.optimize_style import load_style_grams, optimize, style_grams_of
    from deepphoto.models.vgg import load_vgg19

    vgg = load_vgg19("block5_relu1", download=False)
    if painting is not None:
        art = read_image(painting)
        s = 512 / max(art.shape[:2])
        grams = style_grams_of(vgg, cv2.resize(art, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))
    else:
        grams = load_style_grams(style)
    return optimize(image, grams, size=size, vgg=vgg)


def run(args: argparse.Namespace) -> int:
    optimize = args.method == "optimize"
    if optimize and not (args.style or args.style_image):
        raise DeepPhotoError("--method optimize needs --style NAME or --style-image PAINTING")
    if optimize:
        args.effect, style, args.style = None, args.style, None
    processor = make_processor(args)
    if args.output.suffix.lower() not in IMAGE_SUFFIXES:
        raise DeepPhotoError(f"{args.output}: unknown image type (use {', '.join(IMAGE_SUFFIXES)})")
    if not args.output.parent.is_dir():
        raise DeepPhotoError(f"{args.output.parent}: output folder does not exist")
    if args.output.exists() and not args.overwrite:
        raise DeepPhotoError(f"{args.output}: already exists (use --overwrite to replace it)")
    image = read_image(args.input)
    processor.smoother.smooth = 0.0  # one photo: nothing to smooth over
    if optimize:
        painted = optimized(image, style, args.style_image, args.size)
        processor.looks = [Look(f"optimized {style or args.style_image.name}", lambda _frame: painted)]
    write_image_atomic(args.output, processor(image))
    print(
        f"wrote {args.output.resolve()} ({image.shape[1]}x{image.shape[0]}, {processor.look.name} on the {args.region})"
    )
    return 0
