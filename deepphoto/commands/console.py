"""The command's own text streams, made safe: a reader that quits (``deepphoto run ... | head -1``)
or a file name that is not valid UTF-8 never turns printing into a traceback or ends a job.

While a command runs, ``sys.stdout`` and ``sys.stderr`` are wrapped: a write to a closed pipe
marks the stream broken and sends the rest to the null device (so the job carries on and the
interpreter's last flush at exit stays quiet); characters the stream cannot encode (the
surrogates Python uses for non-UTF-8 bytes in file names) are written as backslash escapes.
A process started without a standard output or error (``>&-``, as a daemon, cron or a launcher
may do: Python's stream is then None) prints to the null device, as if its reader had gone, and
the job ends as it would have (0, 2, 130), not with a traceback.
A stream that cannot be written (``deepphoto styles > list.txt`` on a full disk, a log on a file
system that went away) is treated alike: the job carries on, and the command then says in one line
that its output was not all written, status 2 (it was an OSError traceback, and a run stopped there).
A password in a URI (``rtsp://user:secret@camera/stream``) is never printed: messages name the
input by its URI, and a terminal's scroll-back or a shared log would keep it.
"""

from __future__ import annotations

import os
import re
import sys
from types import TracebackType
from typing import TextIO

# the password runs to the last '@' before the host, as FFmpeg reads it: 'rtsp://admin:p@ss@cam/' is
# the password 'p@ss' (typed as it is, not as %40), all of it hidden
CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*):[^\s/?#]*@")


AUTHORITY = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://([^/?#]*)@")  # FFmpeg's: to the first '/', '?' or '#'
_known: set[str] = set()  # 'user:password@' of the URIs on the command line, hidden wherever they appear


def remember_passwords(words: list[str]) -> None:
    """Note the credentials of every URI among ``words`` (the command line) as FFmpeg reads them, to
    hide them whole where the pattern cannot tell where they end ('rtsp://admin:my pass@cam/live'
    showed 'rtsp://admin:my pass@...' in every message)."""
    for word in words:
        found = AUTHORITY.match(word)
        if found and ":" in found.group(1):
            _known.add(found.group(1) + "@")


def without_password(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` in it written as ``***``."""
    if "@" not in text:
        return text
    for credentials in _known:
        if credentials in text:
            text = text.replace(credentials, credentials.split(":", 1)[0] + ":***@")
    return CREDENTIALS.sub(r"\1:***@", text)


class GuardedStream:
    """A text stream that survives a reader which quit and text it cannot encode."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False
        self.failed: OSError | None = None  # why the stream could not be written (a full disk), if it failed

    def write(self, text: str) -> int:
        if self.broken:
            return len(text)
        shown = without_password(text)
        try:
            try:
                self.stream.write(shown)
                return len(text)
            except UnicodeEncodeError:
                encoding = getattr(self.stream, "encoding", None) or "utf-8"
                self.stream.write(shown.encode(encoding, "backslashreplace").decode(encoding, "replace"))
                return len(text)
        except BrokenPipeError:
            self._break()
            return len(text)
        except OSError as exc:  # a full disk (ENOSPC, EDQUOT), an I/O error
            self._fail(exc)
            return len(text)
        except ValueError:  # written to after it was closed
            return len(text)

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._break()
        except OSError as exc:
            self._fail(exc)
        except ValueError:
            pass

    def _fail(self, exc: OSError) -> None:
        """The stream cannot be written: the rest goes to the null device, and why is kept."""
        self.failed = self.failed or exc
        self._break()

    def _break(self) -> None:
        """The reader has gone: everything else goes to the null device, the pending bytes too."""
        self.broken = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self.stream.fileno())
            finally:
                os.close(null)
        except (OSError, ValueError, AttributeError):  # not a real file (captured in tests)
            pass

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def claim_if_closed(fd: int) -> None:
    """Put the null device on descriptor ``fd`` (1 or 2) when the process started with it closed:
    the next file opened would otherwise get it, and the text native code (FFmpeg, ONNX Runtime)
    writes to it would go into that file (an output video); a child process inherits it. Both
    descriptors are claimed before any file is opened (one opened first would take the other)."""
    try:
        os.fstat(fd)
    except OSError:  # closed
        null = os.open(os.devnull, os.O_WRONLY)
        if null == fd:
            os.set_inheritable(fd, True)
        else:
            os.dup2(null, fd)
            os.close(null)


class Console:
    """``with Console() as console:`` guards sys.stdout and sys.stderr for the duration."""

    def __enter__(self) -> Console:
        self._previous = sys.stdout, sys.stderr
        self._sinks: list[TextIO] = []
        for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
            if stream is None:  # the process started without it
                claim_if_closed(fd)
        self.out, self.err = self._guard(sys.stdout), self._guard(sys.stderr)
        sys.stdout, sys.stderr = self.out, self.err  # type: ignore[assignment]
        return self

    def _guard(self, stream: TextIO | None) -> GuardedStream:
        if stream is None:  # the process started without it: its text goes to the null device
            stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
            self._sinks.append(stream)
        return GuardedStream(stream)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for stream in (self.out, self.err):
            stream.flush()
        sys.stdout, sys.stderr = self._previous
        for sink in self._sinks:  # a thread still holding the guarded stream writes nowhere (ValueError)
            sink.close()

    @property
    def stdout_lost(self) -> bool:
        """Whether the reader of the standard output quit before everything was printed."""
        return self.out.broken and self.out.failed is None

    @property
    def stdout_failed(self) -> OSError | None:
        """Why the standard output could not be written (a full disk), when it could not."""
        return self.out.failed
