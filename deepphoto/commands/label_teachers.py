"""``deepphoto label-teachers``: cache the teacher ensemble's soft labels, or report their quality.

deepphoto label-teachers                       # label everything (resumable)
deepphoto label-teachers --sets selfies --limit 3
deepphoto label-teachers --report              # IoU of each teacher per val split
"""

from __future__ import annotations

import argparse

from deepphoto.commands.options import count
from deepphoto.errors import DeepPhotoError


def add_arguments(p: argparse.ArgumentParser) -> None:
    from deepphoto.teachers import label

    p.add_argument("--sets", nargs="+", default=list(label.SETS), metavar="SET", help=f"of {', '.join(label.SETS)}")
    p.add_argument(
        "--threads", type=count("--threads", 1, 256), default=1, help="inference threads per teacher (default 1)"
    )
    p.add_argument(
        "--limit",
        type=count("--limit", 1, 10**9),
        default=None,
        help="at most this many images per set (tests, trials)",
    )
    p.add_argument(
        "--every",
        type=count("--every", 1, 10**6),
        default=label.FRAME_EVERY,
        help="label every N-th frame of the clips",
    )
    p.add_argument("--no-download", action="store_true", help="use cached teacher files only")
    p.add_argument(
        "--report",
        action="store_true",
        help="label nothing: print each teacher's and the ensemble's IoU on the labelled sets' split",
    )
    p.add_argument("--split", choices=("val", "train"), default="val", help="the split --report scores")


def run(args: argparse.Namespace) -> int:
    from deepphoto.teachers import label, scores

    download = not args.no_download
    if args.report:
        unknown = [s for s in args.sets if s not in label.SETS]
        if unknown:
            raise DeepPhotoError(f"unknown set {unknown[0]!r}: choose from {', '.join(label.SETS)}")
        print(scores.report(args.sets, args.threads, args.split, args.limit, download))
    else:
        label.label_sets(args.sets, args.threads, args.every, args.limit, download)
    return 0
