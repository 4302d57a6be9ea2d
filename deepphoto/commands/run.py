"""``deepphoto run INPUT OUTPUT``: the live filter, any source URI to any sink URI."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from deepphoto.commands.options import count, named, real
from deepphoto.errors import DeepPhotoError
from deepphoto.settings import (
    BACKENDS,
    EFFECT_NAMES,
    LIGHTNET_INPUT,
    PRECISIONS,
    REGIONS,
    SEGMENTERS,
    Settings,
    number,
    parse_size,
    whole,
)

if TYPE_CHECKING:
    from deepphoto.stream.loop import RunSummary


FPS_LOW = 0.001  # the lowest --fps


def add_look_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``run``, ``edit``, ``demo``, ``soak`` and ``bench-pipeline``: what to
    apply, where, the mask controls and the engines. ``settings_from_args`` reads them."""
    p.add_argument("--style", help="painting style (see 'deepphoto styles'), or a blend 'wave:0.7,scream:0.3'")
    p.add_argument(
        "--style-scale",
        type=real("--style-scale"),
        default=0.75,
        help="paint at this fraction of the frame size, then scale up (default 0.75 for video: "
        "30+ fps at 640x480 on 2 cores; 1 for photos); at most 1920 pixels on the long side "
        "(the strokes keep their size on a large photo)",
    )
    p.add_argument(
        "--strength",
        type=real("--strength"),
        default=1.0,
        help="how much of the painting (0-1): blended with the unpainted frame (default 1)",
    )
    p.add_argument(
        "--keep-exposure",
        type=real("--keep-exposure"),
        default=0.0,
        help="give a dim or bright picture's exposure back to the painting (0-1; default 0: a style "
        "paints a night scene as light as a day scene, as its teacher does; 1 keeps it dim)",
    )
    p.add_argument("--effect", help=f"classic effect instead of a style: {', '.join(EFFECT_NAMES)}")
    p.add_argument(
        "--background",
        type=Path,
        help="image or video behind the person (--effect replace, which it implies when alone)",
    )
    p.add_argument("--region", default="background", help=f"one of {', '.join(REGIONS)} (default background)")
    p.add_argument(
        "--threshold",
        type=real("--threshold"),
        default=0.5,
        help="person where probability > this (above 0 and below 1, default 0.5)",
    )
    p.add_argument(
        "--smooth",
        type=real("--smooth"),
        default=0.7,
        help="hold the mask, and a painting, where the picture is still (0-0.95, default 0.7; 0 off)",
    )
    p.add_argument("--feather", type=count("--feather"), default=3, help="soft edge width in pixels (0-64, default 3)")
    p.add_argument("--no-refine", action="store_true", help="skip the edge-aware (guided filter) refinement")
    p.add_argument(
        "--segmenter",
        default="lightnet",
        help=f"{', '.join(SEGMENTERS)} (default lightnet; mediapipe: faster, less accurate, needs the peers extra)",
    )
    p.add_argument(
        "--backend",
        default="auto",
        help=f"{', '.join(BACKENDS)} (default auto: the fastest that works here, announced)",
    )
    p.add_argument(
        "--precision",
        default="auto",
        help=f"{', '.join(PRECISIONS)} (default auto: a reduced precision where it passed its accuracy gate "
        "and ran faster when built, see 'deepphoto build-engine')",
    )
    p.add_argument(
        "--seg-input",
        default="x".join(map(str, LIGHTNET_INPUT)),
        help=f"LightNet input WxH (default {'x'.join(map(str, LIGHTNET_INPUT))})",
    )
    p.add_argument(
        "--threads",
        type=count("--threads"),
        default=None,
        help="inference threads per network (default: half the cores each when a style paints while "
        "the person is segmented, else all)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def settings_from_args(args: argparse.Namespace, **overrides: object) -> Settings:
    """The validated ``Settings`` the look options describe (one-line errors). ``--background``
    alone means ``--effect replace`` (it was left unused: the background blurred instead); with a
    style it is refused, as with any other effect."""
    effect = args.effect
    if args.background is not None and effect is None:
        if args.style is not None or getattr(args, "style_image", None) is not None:
            raise DeepPhotoError("--background goes with --effect replace (the picture behind the person), not a style")
        effect = "replace"
    values: dict[str, object] = {
        "style": args.style,
        "effect": effect,
        "background": args.background,
        "style_scale": args.style_scale,
        "strength": getattr(args, "strength", 1.0),
        "keep_exposure": getattr(args, "keep_exposure", 0.0),
        "region": args.region,
        "threshold": args.threshold,
        "smooth": args.smooth,
        "feather": args.feather,
        "refine": not args.no_refine,
        "seg_every": getattr(args, "seg_every", 1),
        "skip_still": getattr(args, "skip_still", 0.0),
        "segmenter": args.segmenter,
        "backend": args.backend,
        "precision": args.precision,
        "seg_input": parse_size(args.seg_input, "--seg-input", 2048),
        "threads": args.threads,
    }
    values.update(overrides)
    settings = Settings.create(**values)
    if args.style is None and getattr(args, "style_image", None) is None:  # an effect: nothing is painted
        for option, value, default in (
            ("strength", settings.strength, 1.0),
            ("keep-exposure", settings.keep_exposure, 0.0),
        ):
            if value != default:  # it was taken, and the effect applied whole, with 'strength 0.3' said
                print(
                    f"deepphoto: warning: --{option} {value:g} left unused: it acts on a style's painting; "
                    f"the effect ({settings.look_name}) is applied whole",
                    file=sys.stderr,
                )
    return settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input",
        type=named("INPUT"),
        metavar="INPUT",
        help="file, folder, /dev/videoN, csi://N, rtsp://..., synthetic://",
    )
    p.add_argument(
        "output",
        type=named("OUTPUT"),
        metavar="OUTPUT",
        help="file.mp4|.mkv|.mov|.webm, image, folder/, vcam://, display://0, null://",
    )
    add_look_arguments(p)
    p.add_argument(
        "--size",
        help="WxH: the size a camera is asked for; the frames of a file, folder or photo are scaled to it",
    )
    p.add_argument(
        "--fps",
        type=real("--fps", 0, 1000, low_open=True),
        help="frame rate asked of a camera (default: its own), or of synthetic:// and a folder of photos "
        "(default 30); a video file or stream keeps its own timing",
    )
    p.add_argument(
        "--seg-every", type=count("--seg-every"), default=1, help="run the segmenter on every Nth frame (default 1)"
    )
    p.add_argument(
        "--skip-still",
        type=real("--skip-still"),
        default=0.0,
        help="reuse the mask when the frame changed less than this (mean grey level, 0-1; default 0: off)",
    )
    p.add_argument(
        "--max-frames",
        type=count("--max-frames", 0, 2**31),
        default=0,
        help="stop after this many frames (default 0: all)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--control",
        metavar="[HOST:]PORT",
        help="steer the run from this machine over HTTP (the Camera tab of 'deepphoto serve'): "
        "GET /status, POST /settings, GET /preview.jpg on 127.0.0.1:PORT",
    )


def execute(args: argparse.Namespace, settings: Settings | None = None) -> RunSummary:
    """Run the job the arguments describe; returns the run's summary (printed as one line)."""
    from deepphoto.pipeline import Pipeline
    from deepphoto.stream.output_safety import check_not_source
    from deepphoto.stream.sinks import check_sink
    from deepphoto.stream.sources import check_source_path, local_name

    args.input, args.output = local_name(str(args.input)), local_name(str(args.output))  # file://clip.mp4
    settings = settings or settings_from_args(args)  # option errors first, before any file is opened
    size = parse_size(args.size, "--size", 8192) if getattr(args, "size", None) else None
    fps = number("--fps", args.fps, 0.0, 1000.0, low_open=True) if getattr(args, "fps", None) is not None else None
    if fps is not None and fps < FPS_LOW:  # a source keeps its rate as a fraction over at most 1001: it was 0
        raise DeepPhotoError(f"--fps {args.fps}: must be {FPS_LOW:g} or more (a frame lasts at most {1 / FPS_LOW:g} s)")
    max_frames = whole("--max-frames", getattr(args, "max_frames", 0), 0, 2**31)
    control = getattr(args, "control", None)
    if control is not None:
        from deepphoto.web.control import ControlServer, parse_address

        parse_address(control)  # a bad address is refused before the networks open
    # so are a missing input and an output that cannot be written (the networks take seconds)
    check_source_path(args.input)
    if fps is not None and not fps_applies(str(args.input)):
        print(f"deepphoto: warning: --fps {fps:g} left unused: {args.input} keeps its own timing", file=sys.stderr)
    check_not_source(args.output, args.input, settings.background)
    check_sink(args.output, args.overwrite)
    with Pipeline(settings, cycle_looks=str(args.output).startswith("display://")) as pipe, ExitStack() as stack:
        observe = stack.enter_context(ControlServer(control, pipe)).observe if control is not None else None
        summary = pipe.run(
            args.input,
            args.output,
            overwrite=args.overwrite,
            size=size,
            fps=fps,
            max_frames=max_frames,
            progress=not args.quiet,
            observe=observe,
        )
    print(summary.line(summary.segmented))
    return summary


def fps_applies(uri: str) -> bool:
    """Whether ``--fps`` sets the rate of the input ``uri`` names: a camera, the test pattern or a
    folder of photos; a video file, a photo, an animation or a network stream keeps its own timing."""
    from deepphoto.stream.v4l2_names import linked_v4l2, names_v4l2

    if uri.startswith(("csi://", "synthetic://")) or names_v4l2(uri) or linked_v4l2(uri):
        return True
    return "://" not in uri and Path(uri).is_dir()


def run(args: argparse.Namespace) -> int:
    summary = execute(args)
    return 130 if summary.interrupted else 0
