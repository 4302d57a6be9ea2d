"""The per-frame work: segment, smooth, feather, apply the effect, composite."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from deepphoto.segmenter import Segmenter
from deepphoto.stream.composite import Effect, blend, feather
from deepphoto.stream.smoothing import MaskSmoother
from deepphoto.stream.video_file import VideoFileSink, VideoFileSource


@dataclass
class FrameProcessor:
    segmenter: Segmenter
    effect: Effect
    region: str = "background"
    threshold: float = 0.5
    feather_px: int = 3
    smoother: MaskSmoother = field(default_factory=MaskSmoother)

    def person_alpha(self, frame: np.ndarray) -> np.ndarray:
        """Smoothed (at the network's resolution, where it is cheap), resized, feathered."""
        prob = self.smoother(self.segmenter.low_res(frame))
        prob = cv2.resize(prob, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
        return feather(prob, self.threshold, self.feather_px)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return blend(frame, self.effect(frame), self.person_alpha(frame), self.region)


def process_file(src_path: Path, out_path: Path, processor: FrameProcessor) -> tuple[Path | None, int, float]:
    """File in, file out; the output is finalised also on Ctrl-C. Returns (path, frames, seconds)."""
    source = VideoFileSource(src_path)
    sink = VideoFileSink(out_path, source.fps, source.time_base)
    start = time.perf_counter()
    bar = tqdm(total=source.frame_count or None, unit="frame", desc=src_path.name)
    try:
        for frame in source:
            sink.write(processor(frame.image), frame.pts)
            bar.update(1)
    finally:
        bar.close()
        source.close()
        written = sink.close()
    return written, sink.frames, time.perf_counter() - start
