"""A long run (not a test) that shows memory stays flat and no queue grows: a synthetic live source
through the full pipeline to ``null://``, resident memory sampled each minute."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from deepphoto.pipeline import Pipeline
from deepphoto.stream.loop import RunSummary, run_stream
from deepphoto.stream.sinks import NullSink
from deepphoto.stream.sources import Synthetic


def rss_mb() -> float:
    from deepphoto.measure.runner import rss_bytes

    return rss_bytes() / 1e6


@dataclass
class SoakResult:
    offered: int
    summary: RunSummary
    start_rss: float
    end_rss: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds, resident MB)


def soak(
    pipe: Pipeline,
    size: tuple[int, int],
    fps: float,
    minutes: float,
    on_sample: Callable[[float, float], None] | None = None,
) -> SoakResult:
    """``minutes`` of a synthetic ``size`` source at ``fps`` through ``pipe`` to nowhere."""
    frames = max(1, int(minutes * 60 * fps))
    source = Synthetic(size, fps=fps, frames=frames)
    start_rss = rss_mb()
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def monitor() -> None:
        t0 = time.monotonic()
        while not done.wait(60):
            samples.append((time.monotonic() - t0, rss_mb()))
            if on_sample:
                on_sample(*samples[-1])

    threading.Thread(target=monitor, daemon=True).start()
    summary = run_stream(source, NullSink(), pipe.processor, progress=False)
    done.set()
    return SoakResult(frames, summary, start_rss, rss_mb(), samples)
