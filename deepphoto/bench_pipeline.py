"""``deepphoto bench-pipeline``: end-to-end speed of the product path (a benchmark, not a test).

1. File in, file out: the demo footage scaled to ``--size`` (looped to ``--frames``), decoded,
   segmented, styled on the background, composited and encoded to H.264: frames per second.
2. Live: a synthetic 30 fps source for ``--live-seconds`` to ``null://``: latency from a frame's
   arrival to its output, and how many stale frames the live queue dropped.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from deepphoto.assets import demo_clip
from deepphoto.bench.runner import make_clip
from deepphoto.frames import parse_size
from deepphoto.run_cmd import add_look_arguments, make_processor
from deepphoto.stream.pipeline import run_stream
from deepphoto.stream.sinks import NullSink, open_sink
from deepphoto.stream.sources import Synthetic, open_source


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", default="640x480", help="frame size WxH")
    p.add_argument("--frames", type=int, default=300, help="frames in the file test")
    p.add_argument("--live-seconds", type=float, default=20.0)
    add_look_arguments(p)


def run(args: argparse.Namespace) -> int:
    size = parse_size(args.size)
    print(f"cores {os.cpu_count()}, size {args.size}")
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip([demo_clip()], Path(tmp) / "in.mp4", size, args.frames)
        processor = make_processor(args)
        source = open_source(str(clip))
        sink = open_sink(str(Path(tmp) / "out.mp4"), source.fps, source.time_base, overwrite=True)
        summary = run_stream(source, sink, processor, progress=False)
    look = f"{processor.look.name} on the {processor.region}"
    print(f"file -> file: {summary.frames_out} frames in {summary.seconds:.2f} s = {summary.fps:.1f} fps ({look})")
    for stage, t in summary.stages.items():
        print(f"  {stage:13} median {t['median_ms']:6.2f} ms   p95 {t['p95_ms']:6.2f} ms")
    processor = make_processor(args)
    live = Synthetic(size, fps=30, frames=int(args.live_seconds * 30))
    summary = run_stream(live, NullSink(), processor, progress=False)
    lat = np.array(summary.latency_ms)
    print(
        f"live 30 fps -> null://: {summary.frames_out} frames out, {summary.dropped} stale frames dropped, "
        f"latency median {np.median(lat):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms"
    )
    return 0
