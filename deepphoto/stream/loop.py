"""The streaming loop: reader thread -> per-frame processing -> writer thread.

``run_stream`` moves frames from a source to a sink through bounded queues, counts what happened
and always closes the sink (so files are finalised).
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from deepphoto.errors import DeepPhotoError, bar_width, progress_shown, warn
from deepphoto.frames import to_bgr8
from deepphoto.settings import counted
from deepphoto.stream.frame import Frame
from deepphoto.stream.output_safety import cannot_write
from deepphoto.stream.processor import FrameProcessor, ProcessorClosed, StageTimes
from deepphoto.stream.queues import END, FrameQueue, Worker, drain
from deepphoto.stream.reconnect import lost_card, resilient
from deepphoto.stream.sinks import Sink, write_image_atomic
from deepphoto.stream.sources import Source
from deepphoto.stream.stopping import signals_held, stop_asked, stops_deferred

POLL = 0.1  # seconds the main thread waits on a queue before it looks for a stop again
# the window's keys for a style's strength: down or up by 10% ('=' is '+' without shift); the number
# pad's '-' and '+' come from OpenCV's GTK window (Debian's, Ubuntu's python3-opencv) as their GDK
# key values, KP_Subtract 0xffad and KP_Add 0xffab, of which waitKey gives the low byte
STRENGTH_KEYS = {"[": -0.1, "-": -0.1, "\xad": -0.1, "]": 0.1, "+": 0.1, "=": 0.1, "\xab": 0.1}


@dataclass
class RunSummary:
    path: Path | None
    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    failed: int = 0  # frames passed through unprocessed after an error
    bad_packets: int = 0
    unreadable: int = 0  # images of a folder that could not be read (skipped)
    lost: int = 0  # 'camera lost' cards sent while a live source was away
    seconds: float = 0.0
    interrupted: bool = False
    source_error: str = ""
    segmented: int = 0  # frames the segmenter ran on
    latency_ms: list[float] = field(default_factory=list)
    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames_out / self.seconds if self.seconds else 0.0

    def line(self, segmented: int) -> str:
        parts = [f"{counted(self.frames_out, 'frame')} in {self.seconds:.1f} s ({self.fps:.1f} fps)"]
        if self.dropped:
            parts.append(f"{counted(self.dropped, 'stale frame')} dropped")
        if self.failed:
            parts.append(f"{counted(self.failed, 'frame')} passed through after errors")
        if self.lost:
            lost = counted(self.lost, "'camera lost' frame")
            parts.append(f"{lost} while the source was away")
        if self.bad_packets:
            parts.append(f"{counted(self.bad_packets, 'damaged packet')} skipped")
        if self.unreadable:
            parts.append(f"{counted(self.unreadable, 'unreadable image')} skipped")
        if 0 < segmented < self.frames_out:  # --seg-every, --skip-still (none: the whole frame styled,
            # no mask needed; 'segmenter ran on 0' read as if no person could be found)
            parts.append(f"segmenter ran on {segmented}")
        if self.latency_ms:
            parts.append(f"latency median {np.median(self.latency_ms):.0f} ms")
        where = f" -> {self.path}" if self.path else ""
        state = "interrupted: " if self.interrupted else ""
        died = f" (source stopped: {self.source_error})" if self.source_error else ""
        return state + ", ".join(parts) + where + died


def stamped(frames: Iterable[Frame]) -> Iterator[Frame]:
    """The frames, each marked with the moment it arrived (for latency)."""
    for frame in frames:
        frame.arrival = time.monotonic()
        yield frame


def timed(frames: Iterable[Frame], times: StageTimes) -> Iterator[Frame]:
    """The frames, each one's decoding time recorded as the stage 'decode'."""
    it = iter(frames)
    while True:
        t = time.perf_counter()
        frame = next(it, None)
        if frame is None:
            return
        times.add("decode", time.perf_counter() - t)
        yield frame


def run_stream(
    source: Source,
    sink: Sink,
    processor: FrameProcessor,
    progress: bool = True,
    max_frames: int = 0,
    reopen: Callable[[], Source] | None = None,
    observe: Callable[[np.ndarray, Frame], None] | None = None,
) -> RunSummary:
    """Move every frame (files) or the newest frames (live) from ``source`` through ``processor``
    to ``sink``. The sink is closed, and so a video file finalised, however this ends. With
    ``reopen``, a live source that goes away is retried while the sink gets 'lost' cards.
    ``observe`` sees each written (output, input frame) pair, on the writer thread, untimed."""
    inq = FrameQueue(2 if source.live else 8, drop_oldest=source.live)
    outq = FrameQueue(4, drop_oldest=False)
    summary = RunSummary(path=None)
    latency: deque[float] = deque(maxlen=5000)
    total = min(source.frame_count or max_frames, max_frames or source.frame_count)  # --max-frames: what is done
    bar = tqdm(total=total or None, unit="frame", disable=not progress_shown(progress), **bar_width())

    def write() -> None:
        while (item := outq.get()) is not END:
            image, frame = item
            t = time.perf_counter()
            sink.write(image, frame)
            processor.times.add("encode", time.perf_counter() - t)
            if observe is not None:
                try:
                    observe(image, frame)
                except Exception as exc:  # the caller's own code: named as such, its traceback kept as the cause
                    where = sink.path or "output"
                    raise DeepPhotoError(f"{where}: not kept: observe raised {type(exc).__name__}: {exc}") from exc
            latency.append((time.monotonic() - frame.arrival) * 1000)
            summary.frames_out += 1
            if bar.total is not None and bar.n >= bar.total:  # more frames than the file said or its
                bar.total = bar.n + 1 + bar.n // 100  # duration promised: never past 100%
            bar.update(1)

    def read() -> None:  # this thread owns the source: only it closes it, so never mid-decode
        try:
            frames = resilient(source, reopen, reader.stop_event) if reopen else source
            drain(stamped(timed(frames, processor.times)), inq.put, reader.stop_event)
        finally:
            source.close()

    reader = Worker("deepphoto-reader", read, inq.close)
    writer = Worker("deepphoto-writer", write, outq.close)
    errors: dict[str, int] = {}
    start = time.perf_counter()

    def next_frame() -> Frame | object | None:
        """The next frame, END, or None where a stop was asked meanwhile."""
        while True:
            try:
                return inq.get(timeout=POLL)
            except TimeoutError:
                if stop_asked():
                    return None

    def hand_on(item: tuple[np.ndarray, Frame]) -> bool:
        """``item`` queued for the writer; False where a stop was asked while the queue was full."""
        while not outq.put(item, timeout=POLL):
            if stop_asked():
                return False
        return True

    try:
        # a stop is read between the steps, not raised amid them: raised the moment the main thread
        # had taken a queue's lock, it left the lock held, and the writer waited for it for ever
        with stops_deferred():
            reader.start()
            writer.start()
            last: np.ndarray | None = None
            while (frame := next_frame()) is not END:
                # a stop (also one whose KeyboardInterrupt was swallowed, raised in an import's callback)
                if frame is None or stop_asked():
                    summary.interrupted = True
                    break
                if frame.lost:
                    summary.lost += 1
                    if not hand_on((lost_card(last), frame)):
                        summary.interrupted = True
                        break
                    continue
                summary.frames_in += 1
                try:
                    image = processor(frame.image)
                except ProcessorClosed:  # closed by another thread (a caller's stop): ended as a stop is
                    summary.interrupted = True
                    break
                except Exception as exc:  # one bad frame must not end a recording: pass it through
                    key = f"{type(exc).__name__}: {exc}"
                    if key not in errors:
                        warn(f"{key} (frame passed through; further ones counted)", f"frame {summary.frames_in}")
                    errors[key] = errors.get(key, 0) + 1
                    image = to_bgr8(frame.image)
                if not hand_on((image, frame)):
                    summary.interrupted = True
                    break
                last = image
                if writer.error or handle_key(sink.key(), processor, image):
                    break
                if max_frames and summary.frames_in >= max_frames:
                    break
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        try:
            with signals_held():  # a second Ctrl-C must not cut the finalising of the output short
                reader.stop_event.set()
                inq.close()
                outq.close()
                if writer.ident is not None:  # started
                    writer.join()
                if reader.ident is not None:
                    reader.join(timeout=2.0)
                stopped = summary.interrupted or reader.error is not None or 0 < max_frames <= summary.frames_in
                if bar.n and bar.total is not None and not stopped:
                    bar.total = bar.n  # the file's end: 100%, where the count was estimated (or the file said more)
                    bar.refresh()
                bar.close()
                summary.seconds = time.perf_counter() - start
                try:
                    if writer.error is None:
                        summary.path = sink.close()
                    else:  # a write failed (disk full, ...): what was written is not trusted
                        sink.abort()
                except Exception as exc:
                    writer.error = writer.error or exc
        except KeyboardInterrupt:  # a stop that arrived while finalising: the output is complete
            summary.interrupted = True
    if writer.error is not None:
        if isinstance(writer.error, DeepPhotoError):
            raise writer.error
        where = sink.path or "output"
        if isinstance(writer.error, OSError):  # a full disk: the output's own name, not its temporary one
            raise cannot_write(where, writer.error) from None
        raise DeepPhotoError(f"{where}: cannot write the output ({type(writer.error).__name__}: {writer.error})")
    if reader.error is not None:
        summary.source_error = str(reader.error)
    summary.dropped = inq.dropped
    summary.failed = sum(errors.values())
    summary.bad_packets = int(getattr(getattr(source, "reader", None), "bad_packets", 0))
    summary.unreadable = int(getattr(source, "unreadable", 0))
    summary.latency_ms = list(latency) if source.live else []  # a file's frames wait in queues by design
    summary.stages = processor.times.summary()
    return summary


def handle_key(key: int, processor: FrameProcessor, image: np.ndarray) -> bool:
    """Live controls in the window; True means quit."""
    if key < 0:
        return False
    ch = chr(key & 0xFF).lower()
    if ch in ("q", "\x1b"):
        return True
    if ch in ("s", "e"):
        print(f"look: {processor.next_look()}", file=sys.stderr)
    elif ch == "r":
        print(f"region: {processor.next_region()}", file=sys.stderr)
    elif ch in STRENGTH_KEYS and processor.step_strength is not None:
        print(f"strength: {processor.step_strength(STRENGTH_KEYS[ch]):.0%}", file=sys.stderr)
    elif ch == "p":
        path = Path(time.strftime("deepphoto-snapshot-%Y%m%d-%H%M%S.png"))
        try:
            write_image_atomic(path, image)
            print(f"snapshot: {path.resolve()}", file=sys.stderr)
        except (OSError, DeepPhotoError) as exc:  # a snapshot must never end a live session
            print(f"deepphoto: warning: snapshot not saved ({exc})", file=sys.stderr)
    return False
