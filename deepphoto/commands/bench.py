"""``deepphoto bench``: how fast, how accurate, how steady, in one run, with the peers beside.

Runs the real pipeline (decode, segment, smooth, style, composite, H.264 encode) on a clip at each
size, for each available backend and precision, with and without a style, for each region; writes
``report.md``, ``report.json`` and plots to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deepphoto.commands.options import count
from deepphoto.errors import DeepPhotoError
from deepphoto.settings import parse_size, whole

DEFAULT_LOOKS = "starry-night:background,starry-night:person,starry-night:whole,blur:background"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clip", nargs="?", type=Path, help="video file or folder of clips (default: the demo footage)")
    p.add_argument(
        "--sizes", default="640x480,1280x720", help="frame sizes WxH, comma-separated (default 640x480,1280x720)"
    )
    p.add_argument("--backend", default="all", help="all, or comma-separated from onnx, torch, tensorrt (default all)")
    p.add_argument("--precision", default="all", help="all, or comma-separated from fp32, fp16, int8 (default all)")
    p.add_argument(
        "--looks",
        default=DEFAULT_LOOKS,
        help=f"LOOK:REGION list; LOOK a style or an effect (no style; default {DEFAULT_LOOKS})",
    )
    p.add_argument(
        "--frames", type=count("--frames", 2, 100000), default=90, help="measured frames per configuration (default 90)"
    )
    p.add_argument(
        "--threads", type=count("--threads", 1, 256), default=None, help="threads per network (default: all cores)"
    )
    p.add_argument(
        "--no-peers",
        "--no-peer",  # bench-seg's old spelling: both commands take both
        dest="no_peers",
        action="store_true",
        help="skip MediaPipe, the classic style network, accuracy",
    )
    p.add_argument("--out", type=Path, default=Path("bench-report"), help="report folder (default bench-report)")
    p.add_argument(
        "--clips",
        type=Path,
        action="append",
        metavar="FOLDER",
        help="steadiness per clip instead: every video under FOLDER (recursively; repeat for more folders) "
        "at each size, run's defaults with a style on the background; adds its section to the report in --out",
    )


def run(args: argparse.Namespace) -> int:
    from deepphoto.measure.benchmark import choices, clip_sources, parse_looks, run_benchmark
    from deepphoto.stream.output_safety import check_folder_can_be_made

    sizes = [parse_size(s, "--sizes", 8192) for s in args.sizes.split(",")]
    check_folder_can_be_made(args.out)  # now, not after minutes of measuring
    command = "deepphoto bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "deepphoto bench"
    if args.clips:
        ignored = [
            name
            for name, given in (
                ("a CLIP", args.clip is not None),
                ("--backend", args.backend != "all"),
                ("--precision", args.precision != "all"),
                ("--looks", args.looks != DEFAULT_LOOKS),
                ("--no-peers", args.no_peers),
            )
            if given
        ]
        if ignored:
            raise DeepPhotoError(
                f"--clips measures run's defaults (a style on the background) on every clip under FOLDER: "
                f"{', '.join(ignored)} belong to the speed benchmark; leave them out, or --clips"
            )
        return run_clips(args, sizes, command)
    written = run_benchmark(
        sizes,
        parse_looks(args.looks),
        choices(args.backend, args.precision),
        clip_sources(args.clip),
        args.out,
        frames=args.frames,
        threads=args.threads,
        peers=not args.no_peers,
        command=command,
    )
    print((args.out / "report.md").read_text())
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def run_clips(args: argparse.Namespace, sizes: list[tuple[int, int]], command: str) -> int:
    from deepphoto.measure.report import write_clips_section
    from deepphoto.measure.steadiness import find_clips, markdown
    from deepphoto.measure.steadiness import run_clips as measure_clips

    frames = whole("--frames", args.frames, 2, 100000)
    section = measure_clips(
        find_clips(args.clips),
        sizes,
        frames,
        threads=args.threads,
        report=lambda line: print(f"deepphoto: {line}", file=sys.stderr),
    )
    section["command"] = command
    written = write_clips_section(section, args.out)
    print("\n".join(markdown(section)))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
