"""Latency of two or more StyleNet weights files measured side by side: one process, the networks
alternating frame by frame, so a machine whose speed drifts (a shared VM) slows them alike.

Each paints a 640x480 frame as ``run`` does (the default style scale, scaled back up), with ONNX
Runtime on 2 threads; prints the median per network and its ratio to the first.

    python scripts/style_latency.py deepphoto/models/weights/stylenet.safetensors runs/style-c/candidate.safetensors
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from deepphoto.models.shipped import style_names
from deepphoto.settings import Settings
from deepphoto.stylizer import Stylizer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("weights", type=Path, nargs="+")
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    scale = Settings().style_scale
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    painters = [Stylizer(style_names(w)[0], weights=w, scale=scale, threads=args.threads) for w in args.weights]
    times: list[list[float]] = [[] for _ in painters]
    for r in range(args.rounds + 5):
        for i, paint in enumerate(painters):
            t = time.perf_counter()
            paint(frame)
            if r >= 5:  # the first rounds warm up
                times[i].append(time.perf_counter() - t)
    first = float(np.median(times[0]))
    for w, ts in zip(args.weights, times):
        med = float(np.median(ts))
        print(f"{w}: median {1000 * med:.1f} ms at 640x480 (style scale {scale}), {med / first:.2f}x the first")


if __name__ == "__main__":
    main()
