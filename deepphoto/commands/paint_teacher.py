"""``deepphoto paint-teacher``: cache the arbitrary-style teacher's paintings of the training content.

deepphoto paint-teacher                                   # every shared painting, every set (resumable)
deepphoto paint-teacher --styles wave,scream --limit-per-set 20 --threads 2

What StyleNet v2 learns from (``train-style --distill``); see ``deepphoto.teachers.paintings``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepphoto.commands.options import count
from deepphoto.settings import counted


def add_arguments(p: argparse.ArgumentParser) -> None:
    from deepphoto.teachers import paintings

    p.add_argument(
        "--styles",
        default="all",
        help=f"'all' (default) or comma-separated names of: {', '.join(paintings.style_names())}",
    )
    p.add_argument(
        "--sets",
        nargs="+",
        default=list(paintings.CONTENT_SETS),
        metavar="SET",
        help=f"content sets (TRAIN splits only) of: {', '.join(paintings.CONTENT_SETS)}",
    )
    p.add_argument(
        "--limit-per-set",
        type=count("--limit-per-set", 0),
        default=None,
        help="at most this many images per set, spread over it (default: all)",
    )
    p.add_argument("--threads", type=count("--threads", 1, 256), default=1, help="teacher threads (default 1)")
    p.add_argument(
        "--every",
        type=count("--every", 1, 10**6),
        default=paintings.FRAME_EVERY,
        help="paint every N-th frame of the training clips",
    )
    p.add_argument("--data", type=Path, default=None, help="shared data folder (default $DEEPPHOTO_SHARED_DATA)")


def run(args: argparse.Namespace) -> int:
    from deepphoto.teachers import paintings

    styles = paintings.parse_styles(args.styles)
    made = paintings.paint_sets(styles, args.sets, args.limit_per_set, args.threads, args.every, data=args.data)
    print(f"{counted(sum(made.values()), 'painting')} made now; cache: {paintings.paintings_dir()}")
    return 0
