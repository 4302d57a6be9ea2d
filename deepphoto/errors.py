"""The one exception type whose message the command line prints as a single line; ``warn``, the
one way a warning reaches the user (stderr, or a batch worker's report); ``progress_shown``, whether
a progress bar is drawn on stderr, and ``bar_width``, how wide."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class DeepPhotoError(Exception):
    """A problem the user can fix (bad path, bad option, damaged file): shown without traceback."""


class DeepPhotoTypeError(DeepPhotoError, TypeError):
    """An argument of the library's of a type it does not take (``Pipeline.run``'s source given as
    a number): one line naming it, and a ``TypeError`` for code that embeds the library."""


def not_a_file(path: object) -> DeepPhotoError:
    """The one-line error for an input that should be a file and is not one: a folder, something
    that is not a regular file (a pipe, a device), or nothing at all."""
    from pathlib import Path

    p = Path(str(path))
    if p.is_dir():
        return DeepPhotoError(f"{p}: is a folder, not a file")
    if p.exists():
        return DeepPhotoError(f"{p}: is not a regular file (a pipe or a device); give a file")
    return DeepPhotoError(f"{p}: no such file")


# Whether messages name options as the command line spells them ('--overwrite', '--precision fp32')
# or as Python does ('overwrite=True', "precision='fp32'"): the library's, unless the command line
# (``deepphoto.commands.cli.main``, a batch worker) says so. A script calling ``Pipeline.run`` was
# told to 'use --overwrite', an argument it does not have. The process's way (the ``deepphoto``
# command's own process, a batch worker's), and a call's own (``cli.main`` called from Python: its
# context, not another thread's library calls meanwhile).
_FLAGS = [False]
_FLAGS_HERE: ContextVar[bool | None] = ContextVar("deepphoto_flags", default=None)


def use_flags(on: bool = True) -> bool:
    """Name options as command-line flags from now on (``on``) or as Python arguments, in the whole
    process; the previous way is returned."""
    before, _FLAGS[0] = _FLAGS[0], bool(on)
    return before


@contextmanager
def command_line(whole_process: bool = False) -> Iterator[None]:
    """Options named as command-line flags meanwhile (``option``), as they were before after it: in
    this context (its thread, and the reader and writer threads its stream starts), so that another
    thread's library calls meanwhile are still told Python arguments; ``whole_process``: in every
    thread (the ``deepphoto`` command's own process, whose threads, the Studio's too, are all its)."""
    if whole_process:
        before = use_flags(True)
        try:
            yield
        finally:
            use_flags(before)
    else:
        token = _FLAGS_HERE.set(True)
        try:
            yield
        finally:
            _FLAGS_HERE.reset(token)


def option(name: str, value: object = None, *, placeholder: bool = False) -> str:
    """An option as the user gives it: on the command line ``--name value`` (``--name`` alone for a
    switch, ``value`` True, or for none), in Python ``name=value`` (``name`` as the library spells
    it, with '_'; alone for none; ``placeholder``: ``value`` stands for one, 'PATH', unquoted)."""
    here = _FLAGS_HERE.get()
    if _FLAGS[0] if here is None else here:
        flag = "--" + name.replace("_", "-")
        return flag if value is None or value is True else f"{flag} {value}"
    if value is None:
        return name.replace("-", "_")
    return f"{name.replace('-', '_')}={value if placeholder else repr(value)}"


class FrameError(DeepPhotoError, ValueError):
    """A frame (an image array) that cannot be taken: its shape or its values. A ``ValueError`` too,
    for code that embeds the library."""


class FrameTypeError(FrameError, TypeError):
    """Something given as a frame that is no image array, or one of a dtype not read (bool, int64,
    object, ...). A ``TypeError`` (and a ``FrameError``) too."""


# Where warn() puts its warnings instead of stderr while caught_warnings() is open (per thread and
# context: a batch worker's call, a batch's planner thread; the stream's reader and writer threads
# run in the context of the call that started them, see ``stream.queues.Worker``).
_CAUGHT: ContextVar[list[str] | None] = ContextVar("deepphoto_caught_warnings", default=None)
_KEEPING = threading.Lock()  # the reader and writer threads of one stream keep into one list


def warn(message: str, about: object = None) -> None:
    """Tell the user of something worth knowing about a file or a run that goes on:
    ``deepphoto: warning: ABOUT: MESSAGE`` on stderr, or, while ``caught_warnings`` is open in this
    context, MESSAGE kept in its list (each once; a batch names the file itself, not a chunk's)."""
    caught = _CAUGHT.get()
    if caught is not None:
        with _KEEPING:
            if message not in caught:
                caught.append(message)
        return
    where = "" if about is None else f"{about}: "
    print(f"deepphoto: warning: {where}{message}", file=sys.stderr)


@contextmanager
def caught_warnings() -> Iterator[list[str]]:
    """The warnings ``warn`` is given in this context while it is open, in order, each once, kept
    rather than printed (a batch worker hands them to the driver, which prints them above its bar)."""
    caught: list[str] = []
    token = _CAUGHT.set(caught)
    try:
        yield caught
    finally:
        _CAUGHT.reset(token)


def progress_shown(progress: bool) -> bool:
    """Whether a progress bar is drawn: asked for (no ``--quiet``) and standard error a terminal.
    Into a file or a pipe (``2> run.log``, a service's journal, CI) the bar's carriage returns made
    one line of every redraw, and its block characters garbage in the log."""
    if not progress:
        return False
    try:
        return bool(sys.stderr is not None and sys.stderr.isatty())
    except (AttributeError, ValueError, OSError):  # a stream without a descriptor, or closed
        return False


def bar_width() -> dict[str, object]:
    """tqdm's size arguments for a bar on standard error: its terminal's width, followed as it
    changes. A terminal that says it is 0 columns or 0 lines big (a pseudo-terminal nobody sized:
    'ssh -tt' from a script or cron, 'unbuffer', 'script' without a terminal, some 'docker exec -t')
    had tqdm draw an empty bar, and a long job showed no progress at all: $COLUMNS and $LINES are
    taken for what it does not say, else 80 by 24."""
    import os
    import shutil

    try:
        columns, lines = os.get_terminal_size(sys.stderr.fileno())
    except (AttributeError, ValueError, OSError):
        columns, lines = 0, 0
    if columns > 0 and lines > 0:
        return {"dynamic_ncols": True}
    fallback = shutil.get_terminal_size((80, 24))
    return {"ncols": columns or fallback.columns, "nrows": lines or max(fallback.lines, 2)}
