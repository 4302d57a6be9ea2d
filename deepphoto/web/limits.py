"""What the web app accepts, and how much: uploads checked by content before they are decoded,
requests per second per client, and bounded numbers of renders, jobs and live sessions.

An upload is recognised by its first bytes (JPEG, PNG, WebP, BMP), never by its name; its width
and height are read from the file's own header and refused when too large *before* any decoding
(a 50 KB PNG can claim 100,000 x 100,000 pixels: a decompression bomb).
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from deepphoto.frames import decode_photo
from deepphoto.web.errors import WebError

KINDS = ("JPEG", "PNG", "WebP", "BMP")
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 25 * 2**20  # per upload
    max_pixels: int = 24_000_000  # width x height, as the file's header states it
    max_side: int = 12_000  # longest side in pixels

    def describe(self) -> str:
        return f"at most {self.max_bytes / 2**20:.0f} MB and {self.max_pixels / 1e6:.0f} megapixels"


def _be16(data: bytes, at: int) -> int:
    return struct.unpack_from(">H", data, at)[0]


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the first start-of-frame marker of a JPEG."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        if marker in JPEG_SOF and i + 9 <= len(data):
            return _be16(data, i + 7), _be16(data, i + 5)
        i += 2 + _be16(data, i + 2)
    raise WebError(422, "damaged JPEG: no image size in its header")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack_from("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = struct.unpack_from("<I", data, 21)[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    raise WebError(422, "damaged WebP: no image size in its header")


def _bmp_size(data: bytes) -> tuple[int, int]:
    if len(data) < 26:
        raise WebError(422, "damaged BMP: header too short")
    header = struct.unpack_from("<I", data, 14)[0]
    if header == 12:  # OS/2 bitmap
        w, h = struct.unpack_from("<HH", data, 18)
        return w, h
    w, h = struct.unpack_from("<ii", data, 18)
    return abs(w), abs(h)


def image_header(data: bytes) -> tuple[str, int, int]:
    """(kind, width, height) read from the first bytes; 415 when it is no image type known here."""
    if data[:3] == b"\xff\xd8\xff":
        return ("JPEG", *_jpeg_size(data))
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise WebError(422, "damaged PNG: no IHDR header")
        w, h = struct.unpack_from(">II", data, 16)
        return "PNG", w, h
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ("WebP", *_webp_size(data))
    if data[:2] == b"BM":
        return ("BMP", *_bmp_size(data))
    raise WebError(415, f"not an image this app reads: send {', '.join(KINDS)} (checked by content, not by name)")


def decode_image(data: bytes, limits: UploadLimits, what: str = "photo") -> np.ndarray:
    """The upload as BGR uint8, or a one-line ``WebError``: 413 too large (bytes, or pixels as its
    header states them, checked before decoding), 415 not an image, 422 damaged."""
    if len(data) > limits.max_bytes:
        raise WebError(413, f"{what} of {len(data) / 2**20:.1f} MB is too large ({limits.describe()})")
    if not data:
        raise WebError(422, f"{what}: the upload is empty")
    kind, w, h = image_header(data)
    if w < 1 or h < 1:
        raise WebError(422, f"{what}: its {kind} header says {w}x{h} pixels")
    if w * h > limits.max_pixels or max(w, h) > limits.max_side:
        raise WebError(
            413, f"{what} of {w}x{h} pixels ({w * h / 1e6:.0f} megapixels) is too large ({limits.describe()})"
        )
    decoded = decode_photo(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # EXIF orientation applied
    if decoded is None:
        raise WebError(422, f"{what}: not a readable {kind} image (damaged?)")
    image = decoded[0]  # transparent pixels on white, not the colours stored under them
    ih, iw = image.shape[:2]
    if iw * ih > limits.max_pixels:  # a header that lied: refuse what it decoded to as well
        raise WebError(413, f"{what} decodes to {iw}x{ih} pixels, more than its header said")
    return image


async def read_body(chunks: AsyncIterator[bytes], declared: str | None, limits: UploadLimits, what: str) -> bytes:
    """The request body, read in chunks and refused (413) as soon as it passes ``limits.max_bytes``:
    by its Content-Length before reading, or while reading when it has none or lied."""
    too_large = WebError(413, f"{what} is too large ({limits.describe()})")
    if declared is not None:
        try:
            if int(declared) > limits.max_bytes:
                raise too_large
        except ValueError:
            raise WebError(422, "bad Content-Length header") from None
    parts, total = [], 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limits.max_bytes:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


class RateLimit:
    """A token bucket per client: ``per_second`` on average, bursts up to ``burst``; 429 beyond."""

    def __init__(self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = float(per_second), float(burst), clock
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time)
        self.lock = threading.Lock()

    def check(self, key: str) -> None:
        with self.lock:
            now = self.clock()
            tokens, then = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1.0:
                self.buckets[key] = (tokens, now)
                raise WebError(429, f"too many requests: at most {self.rate:g} a second; wait a moment")
            self.buckets[key] = (tokens - 1.0, now)
            if len(self.buckets) > 4096:  # forget clients whose buckets have refilled
                full = [k for k, (t, s) in self.buckets.items() if t + (now - s) * self.rate >= self.burst]
                for k in full:
                    del self.buckets[k]


class Slots:
    """At most ``limit`` of something at once (renders, jobs, live sessions); 429 beyond."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit, self.what = limit, what
        self.used = 0
        self.lock = threading.Lock()

    def acquire(self) -> None:
        with self.lock:
            if self.used >= self.limit:
                raise WebError(429, f"too many {self.what} at once (at most {self.limit}): wait for one to finish")
            self.used += 1

    def release(self) -> None:
        with self.lock:
            self.used = max(0, self.used - 1)

    @contextmanager
    def hold(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()
