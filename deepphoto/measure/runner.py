"""One benchmark configuration through the real pipeline (decode -> ... -> H.264 encode), measured:
per-stage latency, frames per second, CPU use, peak memory, and mask / output steadiness."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import small_grey
from deepphoto.measure.stability import (
    cut_frames,
    flicker,
    flicker_series,
    lag_frames,
    output_flicker,
    still_share,
)
from deepphoto.pipeline import Pipeline
from deepphoto.settings import Settings
from deepphoto.stream.frame import Frame
from deepphoto.stream.loop import run_stream
from deepphoto.stream.processor import FrameProcessor
from deepphoto.stream.sinks import open_sink
from deepphoto.stream.sources import open_source
from deepphoto.stream.video_file import VideoFileSink

STAGES = ("decode", "preprocess", "segmentation", "smoothing", "mask", "style", "composite", "encode")
WARMUP_FRAMES = 8
OUTPUT_GREY = (160, 120)  # outputs are compared at this size (steadiness, not detail)


@dataclass(frozen=True)
class Config:
    size: tuple[int, int]
    backend: str
    precision: str
    look: str  # a style name, or an effect ("blur": no style)
    region: str

    @property
    def label(self) -> str:
        w, h = self.size
        return f"{w}x{h} {self.backend}:{self.precision} {self.look}/{self.region}"


def make_clip(sources: list[Path], out: Path, size: tuple[int, int], frames: int) -> Path:
    """The benchmark clip: the sources' frames scaled to ``size``, played back and forth to
    ``frames`` (no jump cut), encoded at 30 fps."""
    images: list[np.ndarray] = []
    for src in sources:
        for _, f in zip(range(frames - len(images)), open_source(str(src))):
            images.append(cv2.resize(f.image, size, interpolation=cv2.INTER_AREA))
        if len(images) >= frames:
            break
    if not images:
        raise DeepPhotoError(f"{', '.join(p.name for p in sources)}: no frame could be decoded")
    if len(images) < 2:
        images = images * 2
    with VideoFileSink(out, Fraction(30000, 1001), overwrite=True) as sink:
        period = 2 * len(images) - 2
        for i in range(frames):
            k = i % period
            sink.write(images[k if k < len(images) else period - k])
    return out


def settings_of(cfg: Config, threads: int | None) -> Settings:
    """The settings ``deepphoto run`` would use for this configuration (its defaults otherwise)."""
    from deepphoto.settings import EFFECT_NAMES

    style, effect = (None, cfg.look) if cfg.look in EFFECT_NAMES else (cfg.look, None)
    return Settings(
        style=style, effect=effect, region=cfg.region, backend=cfg.backend, precision=cfg.precision, threads=threads
    )


class Recorder:
    """Keeps, per frame, the low-resolution grey input, raw and smoothed masks, and a small grey
    copy of the input and of the output."""

    def __init__(self) -> None:
        self.grey_low: list[np.ndarray] = []
        self.raw: list[np.ndarray] = []
        self.smoothed: list[np.ndarray] = []
        self.grey_in: list[np.ndarray] = []
        self.grey_out: list[np.ndarray] = []

    def masks(self, frame: np.ndarray, grey: np.ndarray | None, raw: np.ndarray, smoothed: np.ndarray) -> None:
        """The pipeline's hook: its small grey copy of the frame (made here only for a first
        frame, which has none) and the raw and smoothed masks at the segmenter's resolution."""
        h, w = raw.shape
        self.grey_low.append(small_grey(frame, (w, h)) if grey is None else grey.copy())
        self.raw.append(raw.copy())
        self.smoothed.append(smoothed.copy())

    def output(self, image: np.ndarray, frame: Frame) -> None:
        """``run_stream``'s observer: each output beside its input frame."""
        self.grey_in.append(small_grey(frame.image, OUTPUT_GREY))
        self.grey_out.append(small_grey(image, OUTPUT_GREY))

    def stability(self) -> dict:
        out: dict = {
            "output_flicker_levels": round(output_flicker(self.grey_out, self.grey_in), 3),
            "cuts": len(cut_frames(self.grey_in)),  # frame pairs no pixel of which counts as still
        }
        if self.raw:
            raw, smoothed = flicker(self.raw, self.grey_low), flicker(self.smoothed, self.grey_low)
            out.update(
                mask_flicker_raw=round(raw, 5),
                mask_flicker_smoothed=round(smoothed, 5),
                flicker_ratio=round(smoothed / raw, 3) if raw > 0 else float("nan"),
                # behind a moving person (where mask and picture moved); and wherever the raw mask
                # moved, which counts a hold against a network changing its mind as lag too
                lag_frames=lag_frames(self.smoothed, self.raw, self.grey_low),
                lag_frames_any=lag_frames(self.smoothed, self.raw),
                still_share=round(still_share(self.grey_low), 3),
            )
        return out

    def flicker_over_time(self) -> dict[str, list[float]]:
        if not self.raw:
            return {}
        return {
            "raw": [round(float(v), 5) for v in flicker_series(self.raw, self.grey_low)],
            "smoothed": [round(float(v), 5) for v in flicker_series(self.smoothed, self.grey_low)],
        }


class PeakMemory:
    """Peak resident memory of this process while the block runs (sampled at 50 Hz)."""

    def __enter__(self) -> PeakMemory:
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_config(cfg: Config, clip: Path, out_dir: Path, threads: int | None = None) -> tuple[dict, dict]:
    """Run one configuration on ``clip``; returns (result row, flicker over time)."""
    settings = settings_of(cfg, threads)
    pipe = Pipeline(settings)
    processor: FrameProcessor = pipe.processor
    warm = [f.image for _, f in zip(range(WARMUP_FRAMES), open_source(str(clip)))]
    for image in warm:  # warm-up: sessions, kernels, caches; not measured
        processor(image)
    processor.reset()
    recorder = Recorder()
    processor.recorder = recorder.masks
    source = open_source(str(clip))
    sink = open_sink(str(out_dir / "bench-out.mp4"), source.fps, source.time_base, overwrite=True)
    cpu0, wall0 = os.times(), time.perf_counter()
    with PeakMemory() as memory:
        summary = run_stream(source, sink, processor, progress=False, observe=recorder.output)
    if summary.interrupted:  # the run finalised its file; the benchmark stops here, not at the next one
        raise KeyboardInterrupt
    cpu1, wall = os.times(), time.perf_counter() - wall0
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    stylizer = getattr(processor.look.effect, "stylizer", None)
    row = {
        **{k: v for k, v in asdict(cfg).items() if k != "size"},
        "size": "x".join(map(str, cfg.size)),
        "label": cfg.label,
        "seg_engine": processor.segmenter.engine.label,
        "style_engine": stylizer.engine.label if stylizer else "-",
        "seg_input": "x".join(map(str, settings.seg_input)),
        "style_scale": settings.style_scale,
        "frames": summary.frames_out,
        "fps": round(summary.fps, 2),
        "cpu_percent": round(100 * cpu / wall, 1),
        "peak_rss_mb": round(memory.peak / 1e6, 1),
        "stages": {k: {m: round(v, 3) for m, v in summary.stages[k].items()} for k in STAGES if k in summary.stages},
        **recorder.stability(),
    }
    pipe.close()
    return row, recorder.flicker_over_time()
