"""``deepphoto batch INPUTS... --out DIR``: many videos and photos styled the same way, on Ray."""

from __future__ import annotations

import argparse

from deepphoto.commands.options import folder, named
from deepphoto.commands.run import add_look_arguments, settings_from_args
from deepphoto.settings import Settings, number, whole


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs",
        metavar="INPUT",
        nargs="+",
        type=named("INPUT", "a file, a folder or a list"),
        help="video or image file, folder (recursively), or a .txt list of them",
    )
    p.add_argument(
        "--out",
        required=True,
        type=folder("--out"),
        help="output folder (created; holds the resume manifest, and a stopped video's finished chunks)",
    )
    add_look_arguments(p)
    p.set_defaults(style_scale=None)  # not given: videos at 0.75, photos at 1 (as edit paints them)
    p.add_argument("--seg-every", type=int, default=1, help="run the segmenter on every Nth frame (default 1)")
    p.add_argument(
        "--skip-still",
        type=float,
        default=0.0,
        help="reuse the mask when the frame changed less than this (mean grey level, 0-1; default 0: off)",
    )
    p.add_argument(
        "--workers", type=int, help="Ray actors, each with its own pipeline (default: CPUs / cpus-per-worker)"
    )
    p.add_argument(
        "--address",
        help="Ray cluster to run on: 'auto' (this machine's cluster) or ray://HOST:10001; default: start Ray here",
    )
    p.add_argument("--cpus-per-worker", type=float, help="CPUs Ray reserves for each worker (default 2)")
    p.add_argument(
        "--gpus-per-worker", type=float, default=0.0, help="GPUs (or a fraction) for each worker (default 0)"
    )
    p.add_argument(
        "--chunk-seconds",
        type=float,
        default=60.0,
        help="cut videos at the first keyframe after every N seconds (default 60)",
    )
    p.add_argument(
        "--warmup-seconds",
        type=float,
        default=3.0,
        help="frames before a chunk run through the pipeline unwritten, so smoothing continues across cuts (default 3)",
    )
    p.add_argument(
        "--retries", type=int, default=2, help="tries again of a failed chunk or a lost worker's call (default 2)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from deepphoto.batch.cluster import ray_quantity
    from deepphoto.batch.runner import BatchOptions, run_batch

    given = args.style_scale is not None  # --style-scale given: photos and videos alike
    video_scale = args.style_scale if given else Settings.style_scale
    settings = settings_from_args(args, style_scale=video_scale)  # option errors first, before Ray starts
    if settings.style is not None and not args.address:  # a style not installed here (found by a worker after 17 s)
        from deepphoto.models.shipped import style_names, style_vector

        style_vector(settings.style, style_names())
    options = BatchOptions(
        out=args.out,
        workers=whole("--workers", args.workers, 1, 10000) if args.workers is not None else None,
        address=args.address,
        cpus_per_worker=(
            ray_quantity(
                "--cpus-per-worker", number("--cpus-per-worker", args.cpus_per_worker, 0.0, 1024.0, low_open=True)
            )
            if args.cpus_per_worker is not None
            else None
        ),
        gpus_per_worker=ray_quantity("--gpus-per-worker", number("--gpus-per-worker", args.gpus_per_worker, 0.0, 64.0)),
        chunk_seconds=number("--chunk-seconds", args.chunk_seconds, 0.0, 1e6, low_open=True),
        warmup_seconds=number("--warmup-seconds", args.warmup_seconds, 0.0, 600.0),
        retries=whole("--retries", args.retries, 0, 100),
        overwrite=args.overwrite,
        progress=not args.quiet,
        photo_style_scale=args.style_scale if given else 1.0,
    )
    if not args.address:  # Ray is started here: workers that cannot all be placed are refused before it starts
        from deepphoto.batch.cluster import check_shape, local_cpus

        check_shape(options.workers, options.cpus_per_worker, [local_cpus()])
    report = run_batch(args.inputs, settings, options)
    print(report.table())
    if report.interrupted:
        return 130
    return 1 if report.count("failed") else 0
