"""``deepphoto soak``: a long run (not a test) that shows memory stays flat and no queue grows.

A synthetic live source at ``--fps`` goes through the full pipeline to ``null://`` for ``--minutes``;
resident memory is printed each minute and at the end, with latency and dropped frames.
"""

from __future__ import annotations

import argparse

from deepphoto.commands.options import real, size
from deepphoto.commands.run import add_look_arguments, settings_from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--minutes",
        type=real("--minutes", 0, 7 * 24 * 60, low_open=True),
        default=10.0,
        help="how long (more than 0, at most a week; default 10)",
    )
    p.add_argument(
        "--fps",
        type=real("--fps", 0, 240, low_open=True),
        default=30.0,
        help="frames per second offered (more than 0, at most 240; default 30)",
    )
    p.add_argument("--size", type=size("--size"), default="640x480", help="frame size WxH (default 640x480)")
    add_look_arguments(p)


def run(args: argparse.Namespace) -> int:
    from deepphoto.measure.soak import soak
    from deepphoto.pipeline import Pipeline

    minutes, fps, (w, h) = args.minutes, args.fps, args.size  # checked when read (options.py)
    if fps * minutes * 60 < 2:  # memory and latency are measured on frames that came through
        from deepphoto.errors import DeepPhotoError

        raise DeepPhotoError(
            f"--fps {fps:g} for --minutes {minutes:g}: fewer than two frames would be offered; raise either"
        )
    settings = settings_from_args(args)
    with Pipeline(settings) as pipe:
        print(f"soak: {minutes:g} min of {w}x{h} at {fps:g} fps, {pipe.describe()}")
        result = soak(
            pipe, (w, h), fps, minutes, lambda t, mb: print(f"  {t / 60:5.1f} min  resident {mb:7.1f} MB", flush=True)
        )
    summary = result.summary
    print(
        f"frames {summary.frames_out} of {result.offered} offered, {summary.dropped} dropped as stale (live source), "
        f"{summary.fps:.1f} fps"
    )
    if result.samples:
        first = result.samples[0][1]
        print(
            f"resident memory: {result.start_rss:.1f} MB at start, {first:.1f} MB after the first minute, "
            f"{result.end_rss:.1f} MB at the end ({result.end_rss - first:+.1f} MB over the run after warm-up)"
        )
    else:  # no sample after the first minute: the start is no warm-up figure (it read as one)
        print(
            f"resident memory: {result.start_rss:.1f} MB at start, {result.end_rss:.1f} MB at the end "
            f"({result.end_rss - result.start_rss:+.1f} MB, warm-up included: the run ended within its first minute)"
        )
    lat = sorted(summary.latency_ms)
    if lat:
        print(
            f"latency arrival -> output: median {lat[len(lat) // 2]:.1f} ms, "
            f"95th percentile {lat[int(len(lat) * 0.95)]:.1f} ms"
        )
    if summary.frames_out == 0:
        from deepphoto.errors import DeepPhotoError

        raise DeepPhotoError("soak: no frame came through the pipeline")
    return 130 if summary.interrupted else 0
