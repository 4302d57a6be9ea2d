"""A video cut into chunks at keyframes, and one chunk rendered as ``deepphoto run`` would render it.

``plan_video`` reads the packets' timestamps (no decoding) and cuts at the first keyframe at or
after every ``chunk_seconds``. A chunk after the first is read from the keyframe before its
warm-up start: the warm-up frames (``warmup_seconds`` before the chunk) go through the pipeline so
that the temporal smoothing has the state it would have had in one long run, but are not written.
Each chunk is encoded on its own (H.264, the same encoder settings as ``run``) with timestamps
starting at 0 (the first chunk keeps the source's), and ``join`` puts them back together.

A video whose packets carry no usable timestamps, or a look that cannot start mid-stream (a
looping background video), is one chunk: the whole file, read from the start.
"""

from __future__ import annotations

import hashlib
import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.frame import Frame
from deepphoto.stream.loop import run_stream
from deepphoto.stream.sinks import Sink
from deepphoto.stream.sources import Source
from deepphoto.stream.video_file import VideoFileSink, VideoFileSource

if TYPE_CHECKING:
    from deepphoto.pipeline import Pipeline


@dataclass(frozen=True)
class Chunk:
    index: int
    first: int  # index (presentation order) of the first frame written
    stop: int  # index after the last frame written
    start_pts: int | None  # pts of the first frame written; None: from the start of the file
    stop_pts: int | None  # pts of the next chunk's first frame; None: to the end of the file
    warm_pts: int | None  # pts of the first warm-up frame; None: no warm-up
    warm_frames: int  # frames run through the pipeline before ``first``, not written
    shift: int  # subtracted from every pts written (0 for the first chunk: the source's timing)

    @property
    def frames(self) -> int:
        return self.stop - self.first


@dataclass(frozen=True)
class VideoPlan:
    source: Path
    frames: int  # packets of the video stream that are shown (its frame count when nothing is damaged)
    fps: Fraction
    time_base: Fraction | None
    has_audio: bool
    chunks: tuple[Chunk, ...]
    carries_more: bool = False  # tags, chapters or tracks beside the picture (see remux_with_audio)

    @property
    def seconds(self) -> float:
        return self.frames / float(self.fps) if self.fps else 0.0


@dataclass(frozen=True)
class ChunkResult:
    index: int
    path: Path
    frames: int  # frames written
    bad_packets: int
    failed: int  # frames passed through unprocessed after an error in a stage
    seconds: float
    ended_early: str = ""  # 'decoding stopped at 3.76 s of 8.00 s' where the file is cut short (as run says)
    size: int = 0  # of the chunk file once closed and renamed into place (0: not taken)
    sha256: str = ""  # of the same (what a batch run again checks a kept chunk by: see batch.kept)
    notes: tuple[str, ...] = ()  # the warnings its render gave, each once, as run words them (without a file name)


def file_digest(path: Path, limit: int | None = None) -> str:
    """SHA-256 of ``path`` (of its first ``limit`` bytes when given)."""
    h = hashlib.sha256()
    left = limit
    with open(path, "rb") as f:
        while left is None or left > 0:
            block = f.read(1 << 20 if left is None else min(1 << 20, left))
            if not block:
                break
            h.update(block)
            if left is not None:
                left -= len(block)
    return h.hexdigest()


def fingerprint(path: Path) -> tuple[int, str]:
    """(size, SHA-256) of a finished chunk file, flushed to the disk first (a power loss after its
    record is written cannot leave it short or zeroed under a record that vouches for it)."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())
    return Path(path).stat().st_size, file_digest(path)


def whole_file(frames: int) -> tuple[Chunk, ...]:
    return (Chunk(0, 0, frames, None, None, None, 0, 0),)


def probe_video(path: Path) -> int:
    """Opens the video's header only (a file that is not a video fails here, in one line) and
    estimates its frames, for the progress bar until ``plan_video`` counts them."""
    reader = VideoFileSource(path)
    try:
        if reader.frame_count:
            return reader.frame_count
        duration = reader.container.duration
        return max(1, round(duration / 1_000_000 * float(reader.fps))) if duration else 1
    finally:
        reader.close()


def plan_video(
    path: Path, chunk_seconds: float = 60.0, warmup_seconds: float = 3.0, seg_every: int = 1, split: bool = True
) -> VideoPlan:
    """The chunks of one video (one-line errors for a file that is not a readable video)."""
    reader = VideoFileSource(path)
    try:
        fps, time_base, has_audio = reader.fps, reader.time_base, reader.has_audio
        more = reader.carries_more
        pts: list[int | None] = []
        keys: set[int] = set()
        last_dts: int | None = None
        try:
            for packet in reader.container.demux(reader.stream):
                if packet.size == 0:  # the demuxer's flush packet
                    continue
                if packet.dts is not None:
                    if last_dts is not None and packet.dts < last_dts:
                        split = False  # a clock that started again (joined recordings): read it whole
                    last_dts = packet.dts
                if packet.is_discard:  # before an edit list's start: decoded for the next ones, never shown
                    continue
                pts.append(packet.pts)
                if packet.is_keyframe and packet.pts is not None:
                    keys.add(packet.pts)
        except av.error.FFmpegError:
            split = False  # damaged: read it whole, as run does, skipping what cannot be decoded
    finally:
        reader.close()
    if not pts:
        raise DeepPhotoError(f"{path}: has no video frames")
    frames = len(pts)
    known = [p for p in pts if p is not None]
    if not split or len(known) < frames or len(set(known)) < frames or time_base is None:
        return VideoPlan(Path(path), frames, fps, time_base, has_audio, whole_file(frames), more)
    order = sorted(known)
    step = max(1, round(chunk_seconds * float(fps)))
    warm = max(0, round(warmup_seconds * float(fps)))
    key_index = [i for i, p in enumerate(order) if p in keys]  # keyframes, as frame numbers
    starts = [0]
    for target in range(step, frames, step):  # the first keyframe at or after every step
        k = bisect_left(key_index, max(target, starts[-1] + 1))
        if k < len(key_index) and frames - key_index[k] >= step // 4:  # no sliver of a last chunk
            starts.append(key_index[k])
    chunks = []
    for n, first in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else frames
        stop_pts = order[stop] if stop < frames else None
        if n == 0:
            chunks.append(Chunk(0, 0, stop, None, stop_pts, None, 0, 0))
            continue
        w = max(0, first - warm)
        w -= w % max(1, seg_every)  # the segmenter runs on the same frames as in one long run
        chunks.append(Chunk(n, first, stop, order[first], stop_pts, order[w], first - w, order[first]))
    return VideoPlan(Path(path), frames, fps, time_base, has_audio, tuple(chunks), more)


class ChunkSource(Source):
    """The frames of one chunk, warm-up first, decoded as ``run`` decodes them.

    ``bad_packets``: the damaged packets met among the chunk's own frames only, those the reader
    counted from its first frame to the next chunk's first (the reader also meets those before: from
    the keyframe it seeks to, through the warm-up, which the chunk before counts), so that a batch
    adds up each damaged packet once. A damaged packet is counted where the decoder says so, in the
    order of the frames it puts out (frame threads say it a few packets late, in order), the same
    place in both chunks' reads."""

    def __init__(self, plan: VideoPlan, chunk: Chunk) -> None:
        self.plan, self.chunk = plan, chunk
        self.reader = VideoFileSource(plan.source)
        self.fps, self.time_base = self.reader.fps, self.reader.time_base
        self.frame_count = chunk.frames + chunk.warm_frames
        self._bad_before: int | None = 0 if chunk.start_pts is None else None  # at the chunk's first frame
        self._bad_at_stop: int | None = None  # at the next chunk's first frame

    @property
    def bad_packets(self) -> int:
        if self._bad_before is None:  # none of its own frames was reached
            return 0
        end = self._bad_at_stop if self._bad_at_stop is not None else self.reader.bad_packets
        return max(0, end - self._bad_before)

    def _reached(self, frame: Frame) -> bool:
        """Notes the reader's count of damaged packets where ``frame`` starts the chunk or its end;
        True at the end (a frame of the next chunk)."""
        c = self.chunk
        if frame.pts is None:
            return False
        if self._bad_before is None and c.start_pts is not None and frame.pts >= c.start_pts:
            self._bad_before = self.reader.bad_packets
        if c.stop_pts is not None and frame.pts >= c.stop_pts:
            if self._bad_at_stop is None:
                self._bad_at_stop = self.reader.bad_packets
            return True
        return False

    def __iter__(self) -> Iterator[Frame]:
        c = self.chunk
        begin = c.warm_pts if c.warm_pts is not None else c.start_pts
        if begin is None:  # the first chunk: from the start, as run reads it
            for frame in self.reader:
                if self._reached(frame):
                    return
                yield frame
            return
        self.reader.container.seek(begin, stream=self.reader.stream, backward=True, any_frame=False)
        frames = iter(self.reader)
        for frame in frames:
            if frame.pts is None:
                raise DeepPhotoError(f"{self.plan.source}: decoded frames carry no timestamps; cannot cut it")
            if frame.pts >= begin:
                if frame.pts != begin:  # the seek landed after the warm-up start: read from the start
                    self.reader.close()
                    self.reader = VideoFileSource(self.plan.source)
                    frames = (f for f in self.reader if f.pts is not None and f.pts >= begin)
                    frame = next(frames, None)
                    if frame is None:
                        return
                self._reached(frame)  # where the chunk's own frames start, when its warm-up is empty
                yield frame
                break
        for frame in frames:
            if frame.pts is None:
                raise DeepPhotoError(f"{self.plan.source}: decoded frames carry no timestamps; cannot cut it")
            if self._reached(frame):
                return
            yield frame

    def close(self) -> None:
        self.reader.close()


CHUNK_CRF = 20  # the quality chunks are encoded at (run's default)


class ChunkSink(Sink):
    """H.264 as ``run`` writes it; warm-up frames are dropped and timestamps shifted to start at 0."""

    def __init__(self, path: Path, plan: VideoPlan, chunk: Chunk) -> None:
        self.chunk = chunk
        self.file = VideoFileSink(path, plan.fps, plan.time_base, crf=CHUNK_CRF, overwrite=True)
        self.path = self.file.path
        self.written = 0

    def warming(self, frame: Frame) -> bool:
        start = self.chunk.start_pts
        return start is not None and frame.pts is not None and frame.pts < start

    def write(self, image: np.ndarray, frame: Frame) -> None:
        if self.warming(frame):
            return
        self.file.keep_source(frame)  # its colour kept as `run` keeps it (the start: unused, chunks keep their times)
        self.file.write(image, None if frame.pts is None else frame.pts - self.chunk.shift)
        self.written += 1

    def close(self) -> Path | None:
        return self.file.close()

    def abort(self) -> None:
        """After a failed write (a full disk): the file given up, not finalised. Closing it flushed
        the encoder into the container the failed write left behind, and FFmpeg crashed the worker
        (a segmentation fault): the batch said 'worker lost' three times, not that the disk is full."""
        self.file.abort()


def render_chunk(
    pipe: Pipeline,
    plan: VideoPlan,
    chunk: Chunk,
    out: Path,
    on_frames: Callable[[int], None] | None = None,
    observe: Callable[[np.ndarray, Frame], None] | None = None,
) -> ChunkResult:
    """One chunk through ``pipe`` (reset first: a fresh stream) into the video file ``out``.
    ``on_frames`` gets the count of frames written so far; ``observe`` each written frame before
    encoding (tests compare it with ``run``'s)."""

    pipe.reset()
    start = time.perf_counter()
    source = ChunkSource(plan, chunk)
    try:
        sink = ChunkSink(out, plan, chunk)
    except BaseException:
        source.close()
        raise

    def seen(image: np.ndarray, frame: Frame) -> None:
        if sink.warming(frame):
            return
        if observe is not None:
            observe(image, frame)
        if on_frames is not None:
            on_frames(sink.written)

    summary = run_stream(source, sink, pipe.processor, progress=False, observe=seen)
    if summary.interrupted:
        raise KeyboardInterrupt
    if summary.source_error:
        raise DeepPhotoError(f"{plan.source}: reading stopped in chunk {chunk.index} ({summary.source_error})")
    if sink.written == 0 or summary.path is None:
        raise DeepPhotoError(f"{plan.source}: no frame of chunk {chunk.index} could be decoded")
    return ChunkResult(  # the damaged packets of its own frames (see ChunkSource), not the whole read's
        chunk.index,
        summary.path,
        sink.written,
        source.bad_packets,
        summary.failed,
        time.perf_counter() - start,
        source.reader.ended_early,
    )
