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

from deepphoto.commands.options import count, real, size
from deepphoto.commands.run import add_look_arguments, settings_from_args
from deepphoto.settings import counted


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=size("--size"), default="640x480", help="frame size WxH (default 640x480)")
    p.add_argument(
        "--frames", type=count("--frames", 1, 100000), default=300, help="frames in the file test (default 300)"
    )
    p.add_argument(
        "--live-seconds",
        type=real("--live-seconds", 0, 24 * 3600, low_open=True),
        default=20.0,
        help="length of the live test in seconds (more than 0; default 20)",
    )
    add_look_arguments(p)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from deepphoto.assets import demo_clip
    from deepphoto.measure.runner import make_clip
    from deepphoto.pipeline import Pipeline
    from deepphoto.stream.loop import run_stream
    from deepphoto.stream.sinks import NullSink
    from deepphoto.stream.sources import Synthetic

    settings = settings_from_args(args)
    frame_size = args.size  # (width, height), checked when read
    print(f"cores {os.cpu_count()}, size {frame_size[0]}x{frame_size[1]}")
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip([demo_clip()], Path(tmp) / "in.mp4", frame_size, args.frames)
        with Pipeline(settings) as pipe:
            summary = pipe.run(str(clip), str(Path(tmp) / "out.mp4"), overwrite=True, progress=False)
            look = pipe.describe()
    frames = counted(summary.frames_out, "frame")
    print(f"file -> file: {frames} in {summary.seconds:.2f} s = {summary.fps:.1f} fps ({look})")
    for stage, t in summary.stages.items():
        print(f"  {stage:13} median {t['median_ms']:6.2f} ms   p95 {t['p95_ms']:6.2f} ms")
    if summary.interrupted:
        return 130
    live = Synthetic(frame_size, fps=30, frames=max(1, round(args.live_seconds * 30)))  # 0 would mean endless
    with Pipeline(settings) as pipe:
        summary = run_stream(live, NullSink(), pipe.processor, progress=False)
    if summary.interrupted or not summary.latency_ms:
        return 130
    lat = np.array(summary.latency_ms)
    print(
        f"live 30 fps -> null://: {counted(summary.frames_out, 'frame')} out, "
        f"{counted(summary.dropped, 'stale frame')} dropped, "
        f"latency median {np.median(lat):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms"
    )
    return 0
