"""What the web app accepts, and how much: uploads checked by content before they are decoded,
requests per second per client, and bounded numbers of renders, jobs and live sessions.

An upload is recognised by its first bytes (JPEG, PNG, WebP, BMP), never by its name; its width
and height are read from the file's own header and refused when too large *before* any decoding
(a 50 KB PNG can claim 100,000 x 100,000 pixels: a decompression bomb).
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from deepphoto.frames import (
    cut_note,
    decode_cut,
    decode_photo,
    depth_note,
    ends_early,
    heic_error,
    jpeg_refusal,
    more_than_one,
)
from deepphoto.image_header import DamagedHeader, image_size, is_heic, jpeg_unread
from deepphoto.stream.animation import data_has_frames
from deepphoto.web.errors import WebError

KINDS = ("JPEG", "PNG", "WebP", "BMP", "AVIF")  # what the page takes (the header reader knows more)


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 25 * 2**20  # per upload
    # width x height, as the file's header states it: a phone's 24 MP (5712x4284 is 24.5) or 48-50 MP
    # photo, a camera's 24-45 MP one (about 1.5 GB and 11 s to paint 48 MP on two cores, as edit does)
    max_pixels: int = 50_000_000
    # longest side: a JPEG's own limit; the pixels bound the rest (a phone's panorama is 14000x2600 or
    # more, painted window by window as edit paints it: refused at 12,000, with no option to take it)
    max_side: int = 65_500

    def describe(self) -> str:
        return f"at most {self.max_bytes / 2**20:.0f} MB and {self.max_pixels / 1e6:g} megapixels"


def byte_size(n: int) -> str:
    """A size limit in words: '256 KB' under a megabyte, else '25 MB' (MB: 2**20 bytes, as --max-mb)."""
    return f"{n / 2**10:g} KB" if n < 2**20 else f"{n / 2**20:g} MB"


def megapixels(pixels: int, limit: int) -> str:
    """``pixels`` in megapixels, with as many decimals (up to six) as it takes not to read as ``limit``."""
    for places in range(7):
        shown = f"{pixels / 1e6:.{places}f}"
        if shown != f"{limit / 1e6:.{places}f}":
            return shown
    return f"{pixels / 1e6:.6f}"


def image_header(data: bytes) -> tuple[str, int, int]:
    """(kind, width, height) read from the first bytes; 415 when it is no image type taken here,
    422 when its header is damaged."""
    try:
        found = image_size(data)
    except DamagedHeader as exc:
        if exc.kind not in KINDS:
            found = None  # a kind the page does not take, damaged or not
        else:
            raise WebError(422, str(exc)) from None
    taken = f"send {', '.join(KINDS)} (checked by content, not by name)"
    if found is None and is_heic(data):  # an iPhone's photo dropped from a Mac: say so, as `edit` does
        raise WebError(415, str(heic_error("the file")).removeprefix("the file: "))
    if found is not None and found[0] not in KINDS:  # an image, of a kind not taken here: say which
        raise WebError(415, f"{found[0]} is not an image this app reads: {taken}")
    if found is None:
        raise WebError(415, f"not an image this app reads: {taken}")
    return found


def decode_image(data: bytes, limits: UploadLimits, what: str = "photo", notes: list[str] | None = None) -> np.ndarray:
    """``decode_upload``'s picture, without its alpha."""
    return decode_upload(data, limits, what, notes)[0]


def decode_upload(
    data: bytes, limits: UploadLimits, what: str = "photo", notes: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The upload as (BGR uint8, transparent pixels on white; its alpha, uint8, or None when it has
    none), or a one-line ``WebError``: 413 too large (bytes, or pixels as its header states them,
    checked before decoding), 415 not an image, 422 damaged; a file cut off is read as far as it
    goes, as ``deepphoto edit`` reads it. What ``edit`` would warn of (a file cut off, a TIFF of
    several pages of which the first is used) is added to ``notes``."""
    if len(data) > limits.max_bytes:
        raise WebError(413, f"{what} of {len(data) / 2**20:.1f} MB is too large ({limits.describe()})")
    if not data:
        raise WebError(422, f"{what}: the upload is empty")
    kind, w, h = image_header(data)
    if w < 1 or h < 1:
        raise WebError(422, f"{what}: its {kind} header says {w}x{h} pixels")
    if w * h > limits.max_pixels:
        shown = megapixels(w * h, limits.max_pixels)
        more = "'deepphoto serve --max-megapixels N' takes more"
        raise WebError(413, f"{what} of {w}x{h} pixels ({shown} megapixels) is too large ({limits.describe()}: {more})")
    if max(w, h) > limits.max_side:
        raise WebError(413, f"{what} of {w}x{h} pixels is too large (a side of at most {limits.max_side} pixels)")
    raw = np.frombuffer(data, np.uint8)
    try:
        decoded = decode_photo(raw)  # EXIF orientation applied; a 16-bit PNG converted at its depth
    except cv2.error:  # a decoder's failure: the file is damaged
        decoded = None
    if decoded is None and (cut := decode_cut(raw)) is not None:  # a file cut off: as far as it goes
        decoded = cut
        if notes is not None:
            notes.append(cut_note(raw, ": "))
    if decoded is None and (unread := jpeg_unread(memoryview(raw))):
        raise WebError(415, f"{what}: {jpeg_refusal(unread)}")
    if decoded is None and (cut := ends_early(raw)):
        raise WebError(422, f"{what}: not a readable {kind} image: {cut}")
    if decoded is None:
        raise WebError(422, f"{what}: not a readable {kind} image (damaged?)")
    image, alpha = decoded  # transparent pixels on white, not the colours stored under them
    ih, iw = image.shape[:2]
    if iw * ih > limits.max_pixels:  # a header that lied: refuse what it decoded to as well
        raise WebError(413, f"{what} decodes to {iw}x{ih} pixels, more than its header said")
    if notes is not None and (more := more_than_one(raw)):
        notes.append(f"{more}: only the first is used")
    elif notes is not None and data_has_frames(raw):
        notes.append("an animation: its first frame is used")
    if notes is not None and what == "photo" and (note := depth_note(raw)):  # it is painted and written
        notes.append(note)
    return image, alpha


async def read_body(chunks: AsyncIterator[bytes], declared: str | None, limits: UploadLimits, what: str) -> bytes:
    """The request body, read in chunks and refused (413) as soon as it passes ``limits.max_bytes``:
    by its Content-Length before reading, or while reading when it has none or lied."""
    # refused by its bytes alone: 'request is too large (at most 256 KB)', not the pictures' limit
    # rounded to MB ('at most 0 MB and 50 megapixels' was said of a settings request of 10 MB)
    too_large = WebError(413, f"{what} is too large (at most {byte_size(limits.max_bytes)})")
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
