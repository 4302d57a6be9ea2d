"""The one calibration data source every INT8 path reads: preprocessed frames from a folder of
images or a video. Validation images (the fixed split by file name) are never fed."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import numpy as np

from deepphoto.datasets import is_validation_file
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import read_image, to_network_input
from deepphoto.settings import IMAGE_SUFFIXES
from deepphoto.stream.video_file import VideoFileSource

Feed = dict[str, np.ndarray]  # one calibration batch: arrays by network input name
Batch = np.ndarray | Feed  # ... or one array, for a network with a single input


class CalibrationFrames:
    """Up to ``limit`` network inputs (1, 3, H, W) float32 from ``path`` at ``size`` = (W, H)."""

    def __init__(self, path: Path, size: tuple[int, int], limit: int = 64, every: int = 5) -> None:
        self.path, self.size, self.limit, self.every = Path(path), size, limit, every
        if not self.path.exists():
            raise DeepPhotoError(f"{self.path}: calibration source not found")
        self.skipped_validation = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        return (to_network_input(f, self.size) for f in islice(self._frames(held_out=False), self.limit))

    def held_out(self, count: int) -> Iterator[np.ndarray]:
        """Up to ``count`` inputs from the same source that calibration never reads: for a video the
        frames half-way between the calibration frames; for a folder the images after the first
        ``limit`` (validation images still skipped)."""
        return (to_network_input(f, self.size) for f in islice(self._frames(held_out=True), count))

    def _frames(self, held_out: bool) -> Iterator[np.ndarray]:
        if self.path.is_dir():
            images = sorted(p for p in self.path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            used = 0
            for p in images:
                if is_validation_file(p):
                    self.skipped_validation += not held_out
                    continue
                used += 1
                if held_out == (used <= self.limit):
                    continue
                try:
                    yield read_image(p)
                except DeepPhotoError:
                    continue  # one unreadable image does not stop a calibration
            return
        phase = self.every // 2 if held_out else 0
        if held_out and self.every < 2:
            return
        video = VideoFileSource(self.path)
        try:
            for i, frame in enumerate(video):
                if i % self.every == phase:
                    yield frame.image
        finally:
            video.close()
