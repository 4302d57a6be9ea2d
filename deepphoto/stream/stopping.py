"""How a job is asked to stop: Ctrl-C (SIGINT), SIGTERM and SIGHUP (terminal closed, ssh dropped)
all end it the same way, once, and never while an output is being finalised.

``ending_signals()`` turns the first of them into ``KeyboardInterrupt`` in the main thread (every
``finally`` then runs: outputs are finalised, temporary files removed); the ones that follow in a
burst are ignored, so a second Ctrl-C cannot cut the clean-up short or print a traceback.
``signals_held()`` holds all three while an output is being finalised, and acts on one after;
``stops_deferred()`` notes a stop for a loop that reads ``stop_asked()`` between its steps.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

ENDING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _State:
    stopping = False  # a stop was asked for: the job is ending
    deferred = False  # a stop is noted, not raised (``stops_deferred``)
    depth = 0  # ``ending_signals`` blocks open (nested: Pipeline.run's inside the command line's)


def _stop(signum: int, frame: FrameType | None) -> None:
    if _State.stopping:
        return  # a burst: the first one is being handled
    _State.stopping = True
    if _State.deferred:
        return  # noted: the loop that deferred it reads stop_asked() between its steps
    raise KeyboardInterrupt


def _quiet_unraisable(previous: object) -> object:
    """``sys.unraisablehook`` that drops the KeyboardInterrupt of a stop raised where Python cannot
    raise it (a weakref or import lock's callback: 'Exception ignored in', with a traceback); the
    stop itself is read from ``stop_asked()`` by the stream and the command line."""

    def hook(unraisable: object) -> None:
        if _State.stopping and isinstance(getattr(unraisable, "exc_value", None), KeyboardInterrupt):
            return
        previous(unraisable)  # type: ignore[operator]

    return hook


def stop_asked() -> bool:
    """Whether SIGINT, SIGTERM or SIGHUP has arrived inside ``ending_signals()``. The
    KeyboardInterrupt it raised may surface as another error: a C extension being imported at that
    moment (numpy's) reports a failed import instead."""
    return _State.stopping


def ignored(sig: int) -> bool:
    """Whether ``sig`` is ignored (``SIG_IGN``), as ``nohup`` leaves SIGHUP for the command it starts
    and a shell without job control leaves SIGINT for a job it puts in the background."""
    return signal.getsignal(sig) == signal.SIG_IGN


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def ending_signals(process_ends: bool = False) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt once for the duration (main thread only;
    elsewhere a no-op); the previous handlers come back afterwards. ``process_ends``: the process
    exits right after (the command line), so the rest of a burst is ignored up to the very end
    instead: while it shuts down, Python would otherwise put back the default handlers, and a
    signal arriving then would kill it without a word (or print a traceback). A signal the process
    was started to ignore stays ignored: ``nohup``'s SIGHUP (a job left running when its terminal is
    closed was stopped with it, its video cut short), a background job's SIGINT in a script."""
    if not _in_main_thread():
        yield
        return
    if not _State.depth:
        _State.stopping = False
    _State.depth += 1
    previous = {sig: signal.signal(sig, _stop) for sig in ENDING if not ignored(sig)}
    hook, sys.unraisablehook = sys.unraisablehook, _quiet_unraisable(sys.unraisablehook)
    try:
        yield
    finally:
        if process_ends:  # ignored at the kernel's level, which outlives the interpreter's shutdown
            for sig in ENDING:
                signal.signal(sig, signal.SIG_IGN)
        else:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sys.unraisablehook = hook
        _State.depth -= 1
        if not _State.depth:  # read inside the outermost block only (a nested one, Pipeline.run's
            # inside the command line's, keeps it for the burst that follows): left set, every later
            # run in the process (a library caller's next Pipeline.run) was taken for stopped at once
            _State.stopping = False


@contextmanager
def stops_deferred() -> Iterator[None]:
    """Inside ``ending_signals``, a stop (SIGINT, SIGTERM, SIGHUP) is noted for the duration, not
    raised (main thread only; elsewhere a no-op): for a loop that takes locks its other threads wait
    on, and reads ``stop_asked()`` between its steps. A KeyboardInterrupt raised the moment such a
    lock had been taken, before the ``with`` block that releases it began (or as it ended, before
    the release), left the lock held: the writer thread waited for it for ever, and the job hung
    at Ctrl-C with every later signal held, its temporary file left."""
    if not _in_main_thread():
        yield
        return
    previous, _State.deferred = _State.deferred, True
    try:
        yield
    finally:
        _State.deferred = previous


@contextmanager
def signals_held(which: tuple[int, ...] | None = None) -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP (or ``which`` of them) for the duration (main thread only;
    elsewhere a no-op): the first that arrives is acted on when the hold ends, by the handler that
    was there before. A stop asked for while an output was being finalised is carried out after it,
    not lost (a benchmark of many clips went on to the next clip and ended with status 0)."""
    if not _in_main_thread():
        yield
        return
    arrived: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (ENDING if which is None else which)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if arrived:
            handler = previous[arrived[0]]
            if callable(handler):  # ours raises KeyboardInterrupt (once); Python's SIGINT one too
                handler(arrived[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), arrived[0])  # what the signal would have done
