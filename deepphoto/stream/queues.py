"""A bounded frame queue and the producer thread that fills it.

Live sources keep only the newest frames (a full queue drops its oldest item), so latency stays low
and memory flat; file sources block the producer instead, so no frame is lost and order is kept.
Decoding (PyAV), inference (ONNX Runtime) and encoding release the GIL, so the threads overlap.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

END = object()  # what get() returns once the queue is closed and drained


class FrameQueue:
    def __init__(self, maxsize: int, drop_oldest: bool) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize, self.drop_oldest = maxsize, drop_oldest
        self._items: deque[Any] = deque()
        self._cv = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.high_water = 0

    def put(self, item: Any, timeout: float | None = None) -> bool:
        """``item`` queued (or dropped, once closed); False, and nothing queued, where the queue was
        still full after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            if self.drop_oldest:
                while len(self._items) >= self.maxsize:
                    self._items.popleft()
                    self.dropped += 1
            else:
                while len(self._items) >= self.maxsize and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cv.wait(remaining)
            if self._closed:
                return True
            self._items.append(item)
            self.high_water = max(self.high_water, len(self._items))
            self._cv.notify_all()
            return True

    def get(self, timeout: float | None = None) -> Any:
        """The next item, END once closed and empty; raises TimeoutError after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while not self._items:
                if self._closed:
                    return END
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError
                self._cv.wait(remaining)
            item = self._items.popleft()
            self._cv.notify_all()
            return item

    def close(self) -> None:
        """No more puts; get() drains what is left, then returns END. Wakes blocked producers."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def __len__(self) -> int:
        with self._cv:
            return len(self._items)


class Worker(threading.Thread):
    """Runs ``target()`` on its own thread, keeps any error for the main thread, then ``on_exit()``.
    The thread runs in the context of the one that made it (a batch worker's call catches the
    warnings of its stream's reader and writer: ``errors.caught_warnings``)."""

    def __init__(self, name: str, target: Callable[[], None], on_exit: Callable[[], None] | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.target, self.on_exit = target, on_exit
        self.error: BaseException | None = None
        self.stop_event = threading.Event()
        self.context = contextvars.copy_context()

    def run(self) -> None:
        try:
            self.context.run(self.target)
        except BaseException as exc:  # handed to the main thread, which reports it
            self.error = exc
        finally:
            if self.on_exit:
                self.on_exit()


def drain(items: Iterable[Any], put: Callable[[Any], None], stop: threading.Event) -> None:
    """Put every item until ``stop`` is set."""
    for item in items:
        if stop.is_set():
            return
        put(item)
