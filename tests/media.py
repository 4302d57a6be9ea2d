"""Small synthetic media for tests: clips with a moving figure, optionally with an audio track."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def encode_into(out: av.container.OutputContainer, stream: av.stream.Stream, frames) -> None:  # noqa: ANN001
    """Encode ``frames`` (PyAV video or audio frames, any iterable) with ``stream`` into ``out``,
    then flush the encoder."""
    for frame in frames:
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def make_clip(
    path: Path,
    frames: int = 12,
    size: tuple[int, int] = (96, 64),
    fps: int = 25,
    audio: bool = False,
    video_start: int = 0,
    audio_tail: int = 0,
    audio_codec: str = "aac",
) -> Path:
    """A textured H.264 clip; ``video_start`` frames of audio before the first picture (a clip
    whose video starts after 0, as cut or streamed files do), ``audio_tail`` after the last."""
    w, h = size
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
        v.codec_context.gop_size = 5  # a keyframe every 5 frames, as streams have
        a = None
        if audio:
            a = out.add_stream(audio_codec, rate=48000 if audio_codec == "libopus" else 44100)
            a.layout = "mono"
        for i in range(frames):
            img = np.random.default_rng(i).integers(30, 60, (h, w, 3), dtype=np.uint8)  # some texture
            x = (i * 5) % w
            img[h // 4 :, x : x + w // 4] = (60, 120, 220)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = i + video_start, Fraction(1, fps)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        if a is not None:
            rate, block = a.codec_context.sample_rate, a.codec_context.frame_size or 1024
            samples = int(rate * (frames + video_start + audio_tail) / fps)
            t = np.arange(samples) / rate
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            fmt = a.codec_context.format.name
            whole = samples if audio_codec == "aac" else samples - block + 1  # a short last block: AAC only
            for start in range(0, whole, block):
                piece = np.ascontiguousarray(tone[:, start : start + block])
                if fmt == "s16":
                    piece = (piece * 32767).astype(np.int16)
                chunk = av.AudioFrame.from_ndarray(piece, format=fmt, layout="mono")
                chunk.sample_rate, chunk.pts = rate, start
                for p in a.encode(chunk):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
    return path


def probe(path: Path) -> dict:
    """Decode everything: frame count, rate, size, duration (s), audio present."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return {
            "frames": n,
            "fps": float(s.average_rate),
            "size": (s.width, s.height),
            "duration": (c.duration or 0) / 1e6,
            "audio": bool(c.streams.audio),
        }


def stream_end(path: Path, kind: str) -> float:
    """Where the file's first ``kind`` ("audio" or "video") stream ends, in seconds: the last
    packet's time plus its duration."""
    with av.open(str(path)) as c:
        stream = getattr(c.streams, kind)[0]
        end = 0.0
        for pkt in c.demux(stream):
            if pkt.pts is not None and pkt.size:
                end = max(end, float((pkt.pts + (pkt.duration or 0)) * pkt.time_base))
        return end


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    """BGR frames as an uncompressed YUV4MPEG2 clip (4:2:0): what Chromium's fake camera plays
    (``--use-file-for-fake-video-capture``). Width and height must be even."""
    import cv2

    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for bgr in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def ts_part(path: Path, first: int, frames: int, start_pts: int, audio: bool = False) -> bytes:
    """An MPEG-TS recording of ``frames`` flat frames (grey from ``first``) whose clock starts at
    ``start_pts`` (1/30 s ticks), with a tone as long if ``audio``; its bytes, to be joined as
    `cat a.ts b.ts` does."""
    with av.open(str(path), "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.time_base = Fraction(1, 30)
        a = out.add_stream("aac", rate=48000) if audio else None
        if a is not None:
            a.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * (first + i), np.uint8), format="bgr24")
            frame.pts, frame.time_base = start_pts + i, Fraction(1, 30)
            for p in v.encode(frame):
                out.mux(p)
            for k in range(2 * i, 2 * i + 2) if a is not None else ():  # 1,600 samples a frame
                block = (0.2 * np.sin(np.arange(800) / 8.0)).astype(np.float32)[None]
                chunk = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 48000, start_pts * 1600 + k * 800
                for p in a.encode(chunk):
                    out.mux(p)
        for p in v.encode():
            out.mux(p)
        for p in a.encode() if a is not None else ():
            out.mux(p)
    return path.read_bytes()


def grey_frame(shape: tuple[int, int], level: int, pts: int) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.full((*shape, 3), level, np.uint8), format="bgr24")
    frame.pts = pts
    return frame


def silence(rate: int, pts: int, samples: int = 1024) -> av.AudioFrame:
    """``samples`` of mono silence starting at sample ``pts``."""
    frame = av.AudioFrame.from_ndarray(np.zeros((1, samples), np.float32), format="fltp", layout="mono")
    frame.sample_rate, frame.pts = rate, pts
    return frame


def song_with_cover(path: Path, video: bool = False) -> Path:
    """An MP4 of one second of silence with a cover picture (an attached picture: FFmpeg lists it as
    a video stream), as a music download names it; ``video``: a short clip beside them."""
    with av.open(str(path), "w", format="mp4") as out:
        v = None
        if video:
            v = out.add_stream("libx264", rate=10)
            v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        cover = out.add_stream("mjpeg")
        cover.width = cover.height = 32
        cover.pix_fmt = "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 128, np.uint8), format="bgr24")
        picture = picture.reformat(format="yuvj420p")
        picture.pts = 0
        encode_into(out, cover, [picture])
        if v is not None:
            encode_into(out, v, (grey_frame((48, 64), 40 * i, i) for i in range(5)))
        encode_into(out, a, (silence(48000, start) for start in range(0, 48000, 1024)))
    return path


def cut_mp4(folder: Path, frames: int = 40) -> Path:
    """An MP4 of ``frames`` noisy frames at 25 fps with its index first (faststart), cut in half:
    ``folder/cut.mp4`` (the whole file is ``folder/whole.mp4``)."""
    whole = folder / "whole.mp4"
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            image = np.random.default_rng(i).integers(0, 255, (48, 64, 3), np.uint8)
            f = av.VideoFrame.from_ndarray(image, format="bgr24")
            f.pts, f.time_base = i, Fraction(1, 25)
            for p in v.encode(f):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    cut = folder / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return cut


def b_frame_avi(path: Path, frames: int = 30, title: str | None = None) -> Path:
    """An AVI of H.264 with B-frames (flat frames a grey step apart: x264 chooses B-frames for them,
    not for noise), 64x48 at 30 fps: its pts come in decoding order, its first frame at 1/30 s;
    ``title``: a tag of the file's own."""
    with av.open(str(path), "w") as out:
        if title:
            out.metadata["title"] = title
        v = out.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 8 * i, np.uint8), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return path


def deep_tiff(pixels: np.ndarray, profile: bytes = b"", extra_samples: int | None = None) -> bytes:
    """``pixels`` (HxWx3 RGB or HxWx4 RGBA; uint16 or float32) as an uncompressed little-endian TIFF,
    as a raw converter or an editor exports a 16-bit or 32-bit float picture: the ICC ``profile``
    embedded (tag 34675) where one is given; a fourth sample alpha of the ExtraSamples kind given
    (1: associated, the colours multiplied by it; 2: not)."""
    h, w, samples = pixels.shape
    bits, form = (16, 1) if pixels.dtype == np.uint16 else (32, 3)
    data = np.ascontiguousarray(pixels, pixels.dtype.newbyteorder("<")).tobytes()
    per_sample = struct.pack(f"<{samples}H", *[bits] * samples) + struct.pack(f"<{samples}H", *[form] * samples)
    tags = 11 + bool(profile) + (samples == 4)
    extra = 8 + 2 + 12 * tags + 4  # where BitsPerSample's values start
    icc_at, pixels_at = extra + len(per_sample), extra + len(per_sample) + len(profile)
    entries = [
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, samples, extra),
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 2),  # RGB
        (273, 4, 1, pixels_at),
        (277, 3, 1, samples),
        (278, 4, 1, h),
        (279, 4, 1, len(data)),
        (284, 3, 1, 1),  # chunky
    ]
    entries += [(338, 3, 1, extra_samples or 2)] if samples == 4 else []
    entries += [(339, 3, samples, extra + 2 * samples)]  # sample format
    entries += [(34675, 7, len(profile), icc_at)] if profile else []
    ifd = struct.pack("<H", tags) + b"".join(struct.pack("<HHII", *e) for e in entries) + bytes(4)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + per_sample + profile + data
