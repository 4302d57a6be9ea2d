"""Video files in and out through PyAV (FFmpeg): decode any container, encode H.264.

The sink writes to a temporary name in the output folder and renames it on close, so a crash
never leaves a half-written file under the final name, and closing always finalises the
container (so Ctrl-C mid-job still leaves a playable file with every frame written so far).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from deepphoto.errors import DeepPhotoError


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8
    pts: int | None  # in the source stream's time base
    time_base: Fraction | None


class VideoFileSource:
    def __init__(self, path: Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise DeepPhotoError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise DeepPhotoError(f"{path}: file is empty")
        try:
            self.container = av.open(str(path))
        except av.error.FFmpegError as exc:
            raise DeepPhotoError(f"{path}: not a readable video ({exc.strerror or exc})") from None
        if not self.container.streams.video:
            self.container.close()
            raise DeepPhotoError(f"{path}: has no video stream")
        self.path = path
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(30)
        self.fps = Fraction(rate)
        self.time_base = self.stream.time_base or 1 / self.fps
        self.frame_count = int(self.stream.frames or 0)
        self.size = (self.stream.codec_context.width, self.stream.codec_context.height)

    def __iter__(self) -> Iterator[Frame]:
        for frame in self.container.decode(self.stream):
            yield Frame(frame.to_ndarray(format="bgr24"), frame.pts, frame.time_base)

    def close(self) -> None:
        self.container.close()


class VideoFileSink:
    """H.264 (libx264, yuv420p) in .mp4 / .mkv; frame rate and timestamps from the source."""

    def __init__(self, path: Path, fps: Fraction, time_base: Fraction | None = None, crf: int = 20) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise DeepPhotoError(f"{self.path.parent}: output folder does not exist")
        if not os.access(self.path.parent, os.W_OK):
            raise DeepPhotoError(f"{self.path.parent}: output folder is not writable")
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.fps = Fraction(fps).limit_denominator(100000)
        self.time_base = time_base
        self.crf = crf
        self.container: av.container.OutputContainer | None = None
        self.stream = None
        self.frames = 0
        self._last_pts = -1

    def _open(self, width: int, height: int) -> None:
        self.container = av.open(str(self.tmp), mode="w", format=_format_of(self.path))
        stream = self.container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self.crf), "preset": "veryfast"}
        if self.time_base:
            stream.codec_context.time_base = self.time_base
        self.stream = stream

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        h, w = image.shape[:2]
        even = image[: h - h % 2, : w - w % 2]  # yuv420p needs even sizes
        if self.container is None:
            self._open(even.shape[1], even.shape[0])
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="bgr24")
        if pts is not None and self.time_base and pts > self._last_pts:
            frame.pts, frame.time_base = pts, self.time_base
        else:  # no usable source timestamp: a steady clock at the frame rate
            tb = self.stream.codec_context.time_base
            frame.pts = max(self._last_pts + 1, int(round(self.frames / self.fps / tb)))
            frame.time_base = tb
        self._last_pts = frame.pts
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> Path | None:
        """Flush the encoder, finalise the file and move it to its name; None if nothing was written."""
        if self.container is None:
            return None
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()
            self.container = None
        self.tmp.replace(self.path)
        return self.path

    def __enter__(self) -> VideoFileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    formats = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
    if suffix not in formats:
        raise DeepPhotoError(f"{path}: unsupported video container {suffix!r} (use .mp4, .mkv or .mov)")
    return formats[suffix]
