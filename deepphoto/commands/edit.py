"""``deepphoto edit IN OUT``: one photo, the effect applied to one region."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepphoto.commands.run import add_look_arguments, settings_from_args
from deepphoto.errors import DeepPhotoError
from deepphoto.settings import IMAGE_SUFFIXES, whole


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


def run(args: argparse.Namespace) -> int:
    from deepphoto.pipeline import Pipeline, read_photo
    from deepphoto.stream.sinks import check_output_file, write_image_atomic

    optimize = args.method == "optimize"
    if optimize and not (args.style or args.style_image):
        raise DeepPhotoError("--method optimize needs --style NAME or --style-image PAINTING")
    if args.style_image and not optimize:
        raise DeepPhotoError("--style-image goes with --method optimize")
    size = whole("--size", args.size, 64, 4096) if optimize else 0
    # the optimiser paints; the pipeline only segments and composites (its look is not used)
    settings = settings_from_args(args, style=None, effect="grey") if optimize else settings_from_args(args)
    if args.output.suffix.lower() not in IMAGE_SUFFIXES:
        raise DeepPhotoError(f"{args.output}: unknown image type (use {', '.join(IMAGE_SUFFIXES)})")
    check_output_file(args.output, args.overwrite, source=args.input)
    image = read_photo(args.input)
    with Pipeline(settings) as pipe:
        painted, look = None, pipe.describe()
        if optimize:
            from deepphoto.optimizer import paint_photo

            painted = paint_photo(image, args.style, args.style_image, size)
            look = f"optimized {args.style or args.style_image.name} on the {settings.region}"
        out = pipe.photo(image, painted)
    write_image_atomic(args.output, out)
    print(f"wrote {args.output.resolve()} ({image.shape[1]}x{image.shape[0]}, {look})")
    return 0
