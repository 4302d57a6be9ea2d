"""``deepphoto soak``: a long run (not a test) that shows memory stays flat and no queue grows.

A synthetic live source at 30 fps goes through the full pipeline to ``null://`` for ``--minutes``;
resident memory is printed each minute and at the end, with the queues' high-water marks.
"""

from __future__ import annotations

import argparse
import threading
import time

from deepphoto.run_cmd import add_look_arguments, make_processor
from deepphoto.stream.pipeline import run_stream
from deepphoto.stream.sinks import NullSink
from deepphoto.stream.sources import Synthetic


def rss_mb() -> float:
    from deepphoto.bench.runner import rss_bytes

    return rss_bytes() / 1e6


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--size", default="640x480")
    add_look_arguments(p)


def run(args: argparse.Namespace) -> int:
    from deepphoto.frames import parse_size

    processor = make_processor(args)
    frames = int(args.minutes * 60 * args.fps)
    source = Synthetic(parse_size(args.size), fps=args.fps, frames=frames)
    start_rss = rss_mb()
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def monitor() -> None:
        t0 = time.monotonic()
        while not done.wait(60):
            samples.append((time.monotonic() - t0, rss_mb()))
            print(f"  {samples[-1][0] / 60:5.1f} min  resident {samples[-1][1]:7.1f} MB", flush=True)

    threading.Thread(target=monitor, daemon=True).start()
    print(f"soak: {args.minutes} min of {args.size} at {args.fps} fps, {processor.look.name} on the {args.region}")
    summary = run_stream(source, NullSink(), processor, progress=False)
    done.set()
    end_rss = rss_mb()
    first = samples[0][1] if samples else start_rss
    print(
        f"frames {summary.frames_out} of {frames} offered, {summary.dropped} dropped as stale (live source), "
        f"{summary.fps:.1f} fps"
    )
    print(
        f"resident memory: {start_rss:.1f} MB at start, {first:.1f} MB after the first minute, "
        f"{end_rss:.1f} MB at the end ({end_rss - first:+.1f} MB over the run after warm-up)"
    )
    lat = sorted(summary.latency_ms)
    if lat:
        print(
            f"latency arrival -> output: median {lat[len(lat) // 2]:.1f} ms, "
            f"95th percentile {lat[int(len(lat) * 0.95)]:.1f} ms"
        )
    return 0
