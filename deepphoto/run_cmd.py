"""``deepphoto run INPUT OUTPUT``: the live filter, any source URI to any sink URI."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from deepphoto.engines.base import BACKENDS
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import parse_size
from deepphoto.models.styles import style_names
from deepphoto.segmenter import DEFAULT_INPUT_SIZE, Segmenter
from deepphoto.stream.composite import REGIONS
from deepphoto.stream.effects import EFFECT_NAMES, make_effect
from deepphoto.stream.pipeline import FrameProcessor, Look, MaskSettings, RunSummary, run_stream
from deepphoto.stream.sinks import open_sink
from deepphoto.stream.sources import Source, open_source


def add_look_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``run``, ``edit`` and ``demo``: what to apply, where, and the mask controls."""
    p.add_argument("--style", help="painting style (see 'deepphoto styles'), or a blend 'wave:0.7,scream:0.3'")
    p.add_argument(
        "--style-scale",
        type=float,
        default=0.75,
        help="paint at this fraction of the frame size, then scale up (default 0.75 for video: "
        "30+ fps at 640x480 on 2 cores; 1 for photos)",
    )
    p.add_argument("--effect", help=f"classic effect instead of a style: {', '.join(EFFECT_NAMES)}")
    p.add_argument("--background", type=Path, help="image or video behind the person (--effect replace)")
    p.add_argument("--region", default="background", help=f"one of {', '.join(REGIONS)} (default background)")
    p.add_argument("--threshold", type=float, default=0.5, help="person where probability > this (0-1)")
    p.add_argument("--smooth", type=float, default=0.7, help="temporal smoothing of still regions (0-0.95)")
    p.add_argument("--feather", type=int, default=3, help="soft edge width in pixels")
    p.add_argument("--no-refine", action="store_true", help="skip the edge-aware (guided filter) refinement")
    p.add_argument(
        "--backend",
        default="auto",
        help=f"{', '.join(BACKENDS)} (default auto: the fastest that works here, announced)",
    )
    p.add_argument(
        "--precision",
        default="auto",
        help="auto, fp32, fp16 or int8 (auto: a reduced precision where it passed its accuracy gate "
        "and ran faster when built, see 'deepphoto build-engine')",
    )
    p.add_argument("--seg-input", default="x".join(map(str, DEFAULT_INPUT_SIZE)), help="segmenter input WxH")
    p.add_argument("--threads", type=int, default=None, help="inference threads per network (default: all cores)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="INPUT", help="file, folder, /dev/videoN, csi://N, rtsp://..., synthetic://")
    p.add_argument("output", metavar="OUTPUT", help="file.mp4|.mkv, image, folder/, vcam://, display://0, null://")
    add_look_arguments(p)
    p.add_argument("--size", help="camera capture size WxH (live sources)")
    p.add_argument("--fps", type=float, help="camera frame rate (live sources)")
    p.add_argument("--seg-every", type=int, default=1, help="run the segmenter on every Nth frame")
    p.add_argument(
        "--skip-still",
        type=float,
        default=0.0,
        help="reuse the mask when the frame changed less than this (mean grey level, 0-1)",
    )
    p.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def make_processor(args: argparse.Namespace) -> FrameProcessor:
    if not 0.0 <= args.smooth < 1.0:
        raise DeepPhotoError(f"--smooth {args.smooth}: must be at least 0 and below 1")
    if not 0.0 < args.threshold < 1.0:
        raise DeepPhotoError(f"--threshold {args.threshold}: must be between 0 and 1")
    if args.feather < 0:
        raise DeepPhotoError(f"--feather {args.feather}: must not be negative")
    settings = MaskSettings(
        threshold=args.threshold,
        smooth=args.smooth,
        feather=args.feather,
        refine=not args.no_refine,
        seg_every=getattr(args, "seg_every", 1),
        skip_still=getattr(args, "skip_still", 0.0),
    )
    looks = make_looks(args, cycle=str(getattr(args, "output", "")).startswith("display://"))
    segmenter = Segmenter(
        args.backend, input_size=parse_size(args.seg_input), threads=args.threads, spin=False, precision=args.precision
    )
    return FrameProcessor(segmenter, looks, args.region, settings)


def make_looks(args: argparse.Namespace, cycle: bool = False) -> list[Look]:
    """The chosen style or effect; with ``cycle`` (a window), then every other one for the 's' key."""
    if args.style and args.effect:
        raise DeepPhotoError("give --style or --effect, not both")
    effect = args.effect or ("blur" if not args.style else None)
    names = style_names() if (args.style or cycle) else []
    stylizer = None
    if args.style or names:
        from deepphoto.stylizer import Stylizer

        stylizer = Stylizer(
            args.style or names[0],
            backend=args.backend,
            scale=args.style_scale,
            threads=args.threads,
            spin=False,
            precision=args.precision,
        )
    looks = [Look(args.style, stylizer.painter(args.style))] if args.style else []
    if effect:
        looks.append(Look(effect, make_effect(effect, args.background)))
    if cycle:
        looks += [Look(n, stylizer.painter(n)) for n in names if stylizer and n != args.style]
        looks += [Look(n, make_effect(n)) for n in EFFECT_NAMES if n not in (effect, "replace")]
    return looks


def reopen_of(args: argparse.Namespace, size: tuple[int, int] | None) -> Callable[[], Source]:
    """How to open the live source again after it went away."""
    return lambda: open_source(args.input, size=size, fps=getattr(args, "fps", None))


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a job like Ctrl-C: the output is finalised


def execute(args: argparse.Namespace) -> RunSummary:
    processor = make_processor(args)  # option errors first, before any file is opened
    size = parse_size(args.size) if getattr(args, "size", None) else None
    source = open_source(args.input, size=size, fps=getattr(args, "fps", None))
    try:
        sink = open_sink(args.output, source.fps, source.time_base, source.audio_path, args.overwrite)
    except BaseException:
        source.close()
        raise
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        summary = run_stream(
            source,
            sink,
            processor,
            progress=not args.quiet,
            max_frames=getattr(args, "max_frames", 0),
            reopen=reopen_of(args, size) if source.live else None,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(summary.line(processor.segmented))
    if summary.frames_out == 0 and not summary.interrupted:
        raise DeepPhotoError(f"{args.input}: no frame could be decoded")
    if summary.source_error and not source.live:
        raise DeepPhotoError(
            f"{args.input}: reading stopped after {summary.frames_out} frames "
            f"({summary.source_error}); what was done is in {summary.path}"
        )
    return summary


def run(args: argparse.Namespace) -> int:
    summary = execute(args)
    return 130 if summary.interrupted else 0
