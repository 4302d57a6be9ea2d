"""Uploads of the pages that are open, and the pages themselves.

Each page gets a random id when it loads (``Clients.hello``) and keeps it alive with heartbeats;
a page that said goodbye, or was not heard from for a while, is forgotten with everything it
uploaded. Uploads are decoded pixels in memory under random ids; the two kinds the pipeline reads
from a file (a replacement background, a painting for the optimiser) are written as PNG into the
app's temporary folder under names the server makes. No name or path from the client is used.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import check_painting, painting_from
from deepphoto.web.errors import WebError

ID = re.compile(r"^[0-9a-f]{24}$")
UPLOAD_KINDS = ("photo", "background", "painting")
ON_DISK = ("background", "painting")  # the pipeline and the optimiser read these from a file


def new_id() -> str:
    return secrets.token_hex(12)


def shrink(image: np.ndarray, side: int) -> np.ndarray:
    """A copy whose long side is at most ``side`` (the image itself when already small enough)."""
    h, w = image.shape[:2]
    if max(h, w) <= side:
        return image
    s = side / max(h, w)
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


@dataclass
class Upload:
    id: str
    client: str
    kind: str  # photo, background, painting
    image: np.ndarray  # BGR uint8, full size
    preview: np.ndarray  # the same, long side at most the preview size
    format: str  # JPEG, PNG, ... (the download keeps a PNG a PNG)
    path: Path | None = None  # backgrounds and paintings: the PNG the pipeline reads
    alpha: np.ndarray | None = None  # a transparent photo's alpha (uint8, full size): given back in its pictures
    preview_alpha: np.ndarray | None = None  # the same at the preview's size
    used: float = field(default_factory=time.monotonic)


class Uploads:
    """At most ``limit`` uploads and ``memory`` bytes of pixels in all (least recently used dropped
    first), each visible only to the page that sent it."""

    def __init__(self, folder: Path, limit: int = 48, preview_side: int = 800, memory: int = 1536 * 2**20) -> None:
        self.folder, self.limit, self.preview_side, self.memory = Path(folder), limit, preview_side, memory
        self.items: OrderedDict[str, Upload] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, client: str, kind: str, image: np.ndarray, format: str, alpha: np.ndarray | None = None) -> Upload:
        """``image`` kept for ``client``; ``alpha``: a photo's transparency, kept with it (a
        background is used as a picture on white; a painting cut out on a transparent background
        as ``edit --style-image`` takes it, ``frames.painting_from``)."""
        if kind not in UPLOAD_KINDS:
            raise WebError(404, f"unknown upload kind {kind!r}")
        if kind == "painting":  # refused now, not at render time, as `edit --style-image` and add-style refuse it
            image = painting_from(image, alpha)
            try:
                check_painting(image, "the painting", "paint with")
            except DeepPhotoError as exc:
                raise WebError(422, str(exc)) from None
        item = Upload(new_id(), client, kind, image, shrink(image, self.preview_side), format)
        if kind == "photo" and alpha is not None:
            item.alpha, item.preview_alpha = alpha, shrink(alpha, self.preview_side)
        if kind in ON_DISK:
            path = self.folder / f"{kind}-{item.id}.png"
            if not cv2.imwrite(str(path), image):
                raise WebError(507, "the server could not keep the upload (temporary folder full?)")
            item.path = path
        with self.lock:
            self.items[item.id] = item
            while len(self.items) > self.limit or (len(self.items) > 1 and self._held() > self.memory):
                _, old = self.items.popitem(last=False)
                self._forget(old)
        return item

    def get(self, client: str, upload_id: str | None, kind: str) -> Upload:
        if not upload_id or not ID.match(str(upload_id)):
            raise WebError(422, f"{kind}: expected the id the upload returned")
        with self.lock:
            item = self.items.get(upload_id)
            if item is not None and item.client == client and item.kind != kind:
                raise WebError(422, f"{kind}: that id is of an uploaded {item.kind}, not a {kind}")
            if item is None or item.client != client:
                raise WebError(404, f"{kind} not found: it expired or the page was reloaded; upload it again")
            item.used = time.monotonic()
            self.items.move_to_end(upload_id)
            return item

    def drop_client(self, client: str) -> int:
        with self.lock:
            gone = [k for k, v in self.items.items() if v.client == client]
            for k in gone:
                self._forget(self.items.pop(k))
        return len(gone)

    def close(self) -> None:
        with self.lock:
            for item in self.items.values():
                self._forget(item)
            self.items.clear()

    def _held(self) -> int:
        return sum(_bytes_of(v) for v in self.items.values())

    @staticmethod
    def _forget(item: Upload) -> None:
        if item.path is not None:
            item.path.unlink(missing_ok=True)


def _bytes_of(item: Upload) -> int:
    """The bytes of pixels an upload holds (a preview that is the image itself counted once)."""
    held = item.image.nbytes + (item.preview.nbytes if item.preview is not item.image else 0)
    if item.alpha is not None and item.preview_alpha is not None:
        held += item.alpha.nbytes + (item.preview_alpha.nbytes if item.preview_alpha is not item.alpha else 0)
    return held


class Clients:
    """The open pages: ids handed out by ``hello``, kept by ``seen``; ``reap`` forgets the silent
    ones and calls ``on_gone(id)`` for each (which closes their jobs and live sessions)."""

    def __init__(self, timeout: float, on_gone: Callable[[str], None], limit: int = 256) -> None:
        self.timeout, self.on_gone, self.limit = timeout, on_gone, limit
        self.last: dict[str, float] = {}
        self.lock = threading.Lock()

    def hello(self) -> str:
        self.reap()
        with self.lock:
            if len(self.last) >= self.limit:
                raise WebError(429, f"too many open pages (at most {self.limit}): close some")
            cid = new_id()
            self.last[cid] = time.monotonic()
            return cid

    def seen(self, cid: str | None) -> str:
        with self.lock:
            if not cid or cid not in self.last:
                raise WebError(410, "this page's session ended (the server restarted or it was idle): reload the page")
            self.last[cid] = time.monotonic()
            return cid

    def bye(self, cid: str) -> None:
        with self.lock:
            known = self.last.pop(cid, None) is not None
        if known:
            self.on_gone(cid)

    def reap(self) -> list[str]:
        now = time.monotonic()
        with self.lock:
            gone = [c for c, t in self.last.items() if now - t > self.timeout]
            for c in gone:
                del self.last[c]
        for c in gone:
            self.on_gone(c)
        return gone

    def close(self) -> None:
        with self.lock:
            gone = list(self.last)
            self.last.clear()
        for c in gone:
            self.on_gone(c)
