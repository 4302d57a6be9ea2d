"""Video files in and out through PyAV (FFmpeg): decode any container, encode H.264.

The sink writes to a temporary name in the output folder and renames it on close, so a crash
never leaves a half-written file under the final name, and closing always finalises the
container (so Ctrl-C mid-job still leaves a playable file with every frame written so far).
Audio of the source is copied through (no re-encoding) when the output is finalised.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.frame import Frame
from deepphoto.stream.output_safety import check_output_file, temporary_name

VIDEO_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


class VideoFileSource:
    """Decodes the first video stream; damaged packets are counted and skipped, not fatal."""

    def __init__(self, path: Path | str, network: bool = False) -> None:
        if not network:
            path = Path(path)
            if not path.is_file():
                raise DeepPhotoError(f"{path}: no such file")
            if path.stat().st_size == 0:
                raise DeepPhotoError(f"{path}: file is empty")
        try:
            options = {"rw_timeout": "5000000"} if network else {}
            self.container = av.open(str(path), options=options, timeout=10.0 if network else None)
        except (av.error.FFmpegError, OSError) as exc:
            raise DeepPhotoError(f"{path}: not a readable video ({getattr(exc, 'strerror', None) or exc})") from None
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
        self.has_audio = bool(self.container.streams.audio)
        self.bad_packets = 0

    def __iter__(self) -> Iterator[Frame]:
        errors_in_a_row = 0
        while errors_in_a_row < 20:  # demuxing resynchronises after damage; give up on a dead file
            try:
                for packet in self.container.demux(self.stream):
                    try:
                        decoded = packet.decode()
                    except av.error.FFmpegError:
                        self.bad_packets += 1
                        continue
                    errors_in_a_row = 0
                    for frame in decoded:
                        yield Frame(frame.to_ndarray(format="bgr24"), frame.pts, frame.time_base)
                return
            except av.error.EOFError:
                return
            except av.error.FFmpegError:
                self.bad_packets += 1
                errors_in_a_row += 1

    def close(self) -> None:
        self.container.close()


class VideoFileSink:
    """H.264 (libx264, yuv420p) in .mp4 / .mkv / .mov; frame rate and timestamps from the source."""

    def __init__(
        self,
        path: Path,
        fps: Fraction,
        time_base: Fraction | None = None,
        crf: int = 20,
        audio_from: Path | None = None,
        overwrite: bool = True,
    ) -> None:
        self.path = Path(path)
        self.format = container_format(self.path)
        check_output_file(self.path, overwrite)
        self.tmp = temporary_name(self.path)
        self.fps = Fraction(fps).limit_denominator(100000)
        self.time_base = time_base
        self.crf = crf
        self.audio_from = audio_from
        self.container: av.container.OutputContainer | None = None
        self.stream = None
        self.frames = 0
        self._last_pts = -1
        self.audio_note = ""

    def _open(self, width: int, height: int) -> None:
        self.container = av.open(str(self.tmp), mode="w", format=self.format)
        stream = self.container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self.crf), "preset": "veryfast"}
        if self.time_base:
            stream.codec_context.time_base = self.time_base
        self.stream = stream

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        h, w = image.shape[:2]
        even = image[: max(2, h - h % 2), : max(2, w - w % 2)]  # yuv420p needs even sizes
        if even.shape[0] < 2 or even.shape[1] < 2:
            even = np.pad(even, ((0, 2 - min(2, even.shape[0])), (0, 2 - min(2, even.shape[1])), (0, 0)))
        if self.container is None:
            self._open(even.shape[1], even.shape[0])
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="bgr24")
        tb = self.stream.codec_context.time_base or Fraction(1, 90000)
        if pts is not None and self.time_base and pts > self._last_pts:
            frame.pts, frame.time_base = pts, self.time_base
        else:  # no usable source timestamp: a steady clock at the frame rate
            frame.pts = max(self._last_pts + 1, int(round(self.frames / self.fps / tb)))
            frame.time_base = tb
        self._last_pts = frame.pts
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> Path | None:
        """Flush, finalise, copy the audio in, move to the final name; None if nothing was written."""
        if self.container is None:
            return None
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()
            self.container = None
        if self.frames == 0 or not self.tmp.exists():
            self.tmp.unlink(missing_ok=True)
            return None
        if self.audio_from is not None:
            self._add_audio()
        self.tmp.replace(self.path)
        return self.path

    def _add_audio(self) -> None:
        muxed = temporary_name(self.path)
        try:
            remux_with_audio(self.tmp, self.audio_from, muxed, self.format)
            muxed.replace(self.tmp)
        except (av.error.FFmpegError, ValueError) as exc:
            muxed.unlink(missing_ok=True)
            self.audio_note = f"audio not copied ({exc}); a .mkv output takes any audio codec"
            print(f"deepphoto: warning: {self.audio_note}", file=sys.stderr)

    def __enter__(self) -> VideoFileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remux_with_audio(video: Path, audio_src: Path, out: Path, fmt: str) -> None:
    """Video packets of ``video`` plus the source's first audio stream, up to the video's end."""
    with av.open(str(video)) as vin, av.open(str(audio_src)) as ain, av.open(str(out), "w", format=fmt) as dst:
        vsrc, asrc = vin.streams.video[0], ain.streams.audio[0]
        vout = dst.add_stream_from_template(vsrc)
        aout = dst.add_stream_from_template(asrc)
        end = float(vin.duration or 0) / av.time_base if vin.duration else None

        def packets(
            container: av.container.InputContainer, stream: av.stream.Stream, out_stream: object, order: int
        ) -> Iterator[tuple[float, int, av.Packet, object]]:
            for pkt in container.demux(stream):
                if pkt.dts is None:
                    continue
                t = float(pkt.dts * pkt.time_base)
                if order == 1 and end is not None and t >= end:
                    break
                yield t, order, pkt, out_stream

        for _, _, pkt, out_stream in heapq.merge(
            packets(vin, vsrc, vout, 0), packets(ain, asrc, aout, 1), key=lambda item: (item[0], item[1])
        ):
            pkt.stream = out_stream
            dst.mux(pkt)


def container_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in VIDEO_FORMATS:
        raise DeepPhotoError(f"{path}: unsupported video container {suffix!r} (use .mp4, .mkv or .mov)")
    return VIDEO_FORMATS[suffix]
