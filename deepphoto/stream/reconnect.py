"""Keep a live source going: when the camera goes away, say so, retry with backoff, resume.

While the source is away the generator yields ``lost`` frames a few times a second, so that the
pipeline can keep a virtual camera fed (with the last good picture, marked) instead of freezing
the call or dropping the device.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.frame import Frame
from deepphoto.stream.sources import Source

BACKOFF_START, BACKOFF_MAX = 0.25, 4.0


def resilient(
    source: Source, reopen: Callable[[], Source], stop: threading.Event, sleep: Callable[[float], None] = time.sleep
) -> Iterator[Frame]:
    """Frames of ``source``; on loss, ``lost`` frames while ``reopen()`` is retried with backoff.
    A source that comes back as a file (an HLS broadcast whose playlist has since been given its
    end) has ended: the frames stop there. It was read from its start as a file, in the live
    recording, then again at its end, for ever."""
    current: Source | None = source
    lost_since = 0.0
    try:
        while not stop.is_set():
            try:
                assert current is not None
                yield from current
                raise DeepPhotoError("source ended")
            except DeepPhotoError as exc:
                print(f"deepphoto: warning: {exc}; retrying", file=sys.stderr)
                lost_since = time.monotonic()
            if current is not None:
                current.close()
                current = None
            backoff = BACKOFF_START
            while current is None and not stop.is_set():
                yield Frame(None, None, None, lost=True)  # type: ignore[arg-type]
                sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                if stop.is_set():
                    break
                try:
                    current = reopen()
                except DeepPhotoError:
                    continue
                if not current.live:  # what comes back is a recording of it, with an end
                    current.close()
                    current = None
                    name = getattr(source, "url", "the source")
                    print(
                        f"deepphoto: {name}: the stream has ended (it is now a recording with an end)", file=sys.stderr
                    )
                    return
                print(f"deepphoto: source is back after {time.monotonic() - lost_since:.1f} s", file=sys.stderr)
    finally:
        if current is not None:
            current.close()


def lost_card(last: np.ndarray | None, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """The last good output, darkened, with 'camera lost' written on it (or a plain card)."""
    card = (
        (last.astype(np.float32) * 0.35).astype(np.uint8)
        if last is not None
        else np.zeros((size[1], size[0], 3), np.uint8)
    )
    h, w = card.shape[:2]
    scale = max(0.4, w / 640)
    text = "camera lost - reconnecting"
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    cv2.putText(
        card, text, ((w - tw) // 2, (h + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA
    )
    return card
