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
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from deepphoto.assets import demo_clip
from deepphoto.frames import parse_size
from deepphoto.run_cmd import add_look_arguments, make_processor
from deepphoto.stream.pipeline import run_stream
from deepphoto.stream.sinks import NullSink, open_sink
from deepphoto.stream.sources import Synthetic, open_source
from deepphoto.stream.video_file import VideoFileSink


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", default="640x480", help="frame size WxH")
    p.add_argument("--frames", type=int, default=300, help="frames in the file test")
    p.add_argument("--live-seconds", type=float, default=20.0)
    add_look_arguments(p)


def make_test_clip(path: Path, size: tuple[int, int], frames: int) -> Path:
    source = [cv2.resize(f.image, size, interpolation=cv2.INTER_CUBIC) for f in open_source(str(demo_clip()))]
    with VideoFileSink(path, Fraction(30000, 1001)) as sink:
        for i in range(frames):
            k = i % (2 * len(source) - 2)  # back and forth, no jump
            sink.write(source[k if k < len(source) else 2 * len(source) - 2 - k])
    return path


def run(args: argparse.Namespace) -> int:
    size = parse_size(args.size)
    print(f"cores {os.cpu_count()}, size {args.size}")
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_test_clip(Path(tmp) / "in.mp4", size, args.frames)
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
