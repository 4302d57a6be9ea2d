"""``deepphoto edit IN OUT``: one photo, the effect applied to one region."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deepphoto.commands.options import count, path
from deepphoto.commands.run import add_look_arguments, settings_from_args
from deepphoto.errors import DeepPhotoError
from deepphoto.settings import IMAGE_SUFFIXES, Settings, whole

ALPHA_SUFFIXES = (".png", ".webp", ".tif", ".tiff")  # outputs that keep a photo's transparency


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=path("IN"), metavar="IN", help="photo to edit")
    p.add_argument("output", type=path("OUT"), metavar="OUT", help="edited photo (.jpg, .png, ...)")
    add_look_arguments(p)
    p.add_argument(
        "--method",
        default="fast",
        choices=("fast", "optimize"),
        help="fast: the style network (default); optimize: the slow photo-quality optimiser (minutes)",
    )
    p.add_argument(
        "--style-image",
        type=Path,
        metavar="PAINTING",
        help="any painting as the style (fast: Magenta's arbitrary-style network; optimize: the optimiser)",
    )
    p.add_argument(
        "--size",
        type=count("--size", 64, 4096),
        default=None,
        help="with --method optimize: long side the optimiser paints at (64-4096, default 512); the "
        "result is scaled to the photo's size",
    )
    p.set_defaults(style_scale=1.0)  # a photo is painted at full size
    # --smooth comes with the shared look options, but it holds a video's mask from frame to frame: a
    # photo has one frame. None tells a given one (warned of as unused) from the default
    p.set_defaults(smooth=None)
    smooth = next(a for a in p._actions if a.dest == "smooth")
    smooth.help = "left unused (with a warning): it holds a video's mask from frame to frame, and a photo has one"


def plays_as_video(path: Path) -> bool:
    """Whether a file that is no photo of a kind DeepPhoto knows (by its first bytes) opens as a
    video (a moving picture in a container FFmpeg reads, not an image it reads as a one-frame one)."""
    from deepphoto.image_header import DamagedHeader, image_size, is_heic
    from deepphoto.stream.video_file import VideoFileSource

    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
        if image_size(head) is not None or is_heic(head):
            return False
    except (OSError, DamagedHeader):
        return False
    try:
        reader = VideoFileSource(path)
    except DeepPhotoError:
        return False
    try:
        kinds = reader.container.format.name.split(",")
        return not any(k == "image2" or k.endswith("_pipe") for k in kinds)
    finally:
        reader.close()


def run(args: argparse.Namespace) -> int:
    from deepphoto.frames import check_painting, off_white, read_image_alpha, read_painting
    from deepphoto.pipeline import Pipeline, clear_note, person_note
    from deepphoto.stream.animation import has_frames
    from deepphoto.stream.output_safety import check_not_source
    from deepphoto.stream.sinks import check_encodable, check_output_file, standard_stream, write_image_atomic

    optimize = args.method == "optimize"
    if args.style_image and (args.style or args.effect):
        raise DeepPhotoError("give --style-image or --style/--effect, not both")
    if optimize and not (args.style or args.style_image):
        raise DeepPhotoError("--method optimize needs --style NAME or --style-image PAINTING")
    if optimize and args.style and any(c in args.style for c in ":,"):
        raise DeepPhotoError(
            f"--style {args.style}: the optimiser paints one style; a blend is painted by the fast network "
            "(leave out --method optimize)"
        )
    if args.size is not None and not optimize:
        raise DeepPhotoError("--size is the optimiser's painting size: give it with --method optimize")
    size = whole("--size", 512 if args.size is None else args.size, 64, 4096) if optimize else 0
    # the optimiser or the any-painting network paints; the pipeline then only segments and
    # composites (its own look is not used)
    own_look = optimize or args.style_image is not None
    smooth_given = args.smooth is not None
    if not smooth_given:
        args.smooth = Settings.smooth
    settings = settings_from_args(args, style=None, effect="grey") if own_look else settings_from_args(args)
    if smooth_given:  # checked (a bad value is refused as run refuses it), then left unused
        print(
            f"deepphoto: warning: --smooth {settings.smooth:g} left unused: it holds a video's mask from frame "
            "to frame; edit paints one photo",
            file=sys.stderr,
        )
    if stream := standard_stream(str(args.output)):
        raise DeepPhotoError(f"{args.output}: a photo cannot be written to {stream}; name the file (e.g. out.png)")
    if args.output.is_dir():
        raise DeepPhotoError(f"{args.output}: is a folder; name the output photo (e.g. {args.output / 'out.png'})")
    if args.output.suffix.lower() not in IMAGE_SUFFIXES:
        raise DeepPhotoError(f"{args.output}: unknown image type (use {', '.join(IMAGE_SUFFIXES)})")
    check_output_file(args.output, args.overwrite, source=args.input)
    check_not_source(args.output, args.style_image, args.background)  # no input is written over
    try:
        image, alpha = read_image_alpha(args.input, painted=True)  # transparent pixels on white
    except DeepPhotoError:
        if plays_as_video(args.input):  # 'not a readable image' says nothing of what it is
            raise DeepPhotoError(
                f"{args.input}: is a video; edit paints one photo ('deepphoto run {args.input} OUT' paints a video)"
            ) from None
        raise
    check_encodable(args.output, image.shape[1], image.shape[0])  # before the work, not after
    if has_frames(args.input):
        print(
            f"deepphoto: warning: {args.input}: an animation; its first frame is painted ('run' paints them all)",
            file=sys.stderr,
        )
    painting = read_painting(args.style_image) if args.style_image else None
    if painting is not None:  # as add-style checks it; named, and before the networks open
        check_painting(painting, args.style_image, "paint with")
    teacher = None
    if painting is not None and not optimize:
        from deepphoto.arbitrary import ArbitraryStyle

        teacher = ArbitraryStyle.open(settings.threads)  # before the pipeline: a missing file fails fast
    with Pipeline(settings) as pipe:
        painted, look = None, pipe.describe()
        # --keep-exposure corrects the full-strength painting, then --strength blends it with the
        # photo (as the style network's paintings are made: the photo's own share is not re-exposed)
        exposed = settings.keep_exposure > 0
        strength = 1.0 if exposed else settings.strength
        if optimize:
            from deepphoto.errors import progress_shown
            from deepphoto.optimizer import paint_photo

            # the bar on a terminal only: into a log its redraws made one line of 60 ('2> edit.log')
            painted = paint_photo(
                image, args.style, args.style_image, size, strength=strength, progress=progress_shown(True)
            )
            look = f"optimized {args.style or args.style_image.name} on the {settings.region}"
        elif teacher is not None:
            painted = teacher.paint(image, teacher.style_vector(painting), strength)
            look = f"{args.style_image.name} (any-painting network) on the {settings.region}"
        if painted is not None and exposed:
            from deepphoto.frames import mix
            from deepphoto.stylizer import keep_exposure

            painted = mix(keep_exposure(image, painted, settings.keep_exposure), image, settings.strength)
        if settings.strength < 1 and (args.style or args.style_image):  # an effect is applied whole
            look += f", strength {settings.strength:g}"
        keeps_alpha = alpha is not None and args.output.suffix.lower() in ALPHA_SUFFIXES
        # a transparent photo's soft edges shown in their own colours where it is not painted, not
        # lightened by the white it is laid on for the networks; its soft edge by the person is theirs
        out = pipe.photo(
            image,
            painted,
            off_white(image.copy(), alpha) if keeps_alpha else None,
            alpha if keeps_alpha else None,
            keep_mask=False,  # no mask is asked for: its digest and packing cost 0.1 s a 12-megapixel photo
        )
        if note := person_note(pipe.person_share, settings.region):  # no person, or nearly all person
            print(f"deepphoto: warning: {args.input}: {note}", file=sys.stderr)
    if keeps_alpha:  # kept where the file can hold it
        import numpy as np

        if note := clear_note(alpha, settings.region):
            print(f"deepphoto: warning: {args.input}: {note}", file=sys.stderr)
        out = np.dstack([out, alpha])
    elif alpha is not None:  # it was lost without a word
        suffix = args.output.suffix.lower()
        kind = "JPEG" if suffix in (".jpg", ".jpeg") else suffix[1:].upper()
        print(
            f"deepphoto: warning: {args.input}: its transparency is lost in a {kind} file (transparent parts on "
            "white); write .png, .webp or .tiff to keep it",
            file=sys.stderr,
        )
    write_image_atomic(args.output, out, args.overwrite)
    print(f"wrote {args.output.resolve()} ({image.shape[1]}x{image.shape[0]}, {look})")
    return 0
