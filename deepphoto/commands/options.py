"""Argument types for every numeric option of every command, built on ``deepphoto.settings``' checks.

``type=real("--fps", 0, 1000, low_open=True)`` refuses, while the command line is read, anything
but a finite number in range, with one line naming the option (``DeepPhotoError``: the command
line prints ``deepphoto: error: ...`` and exits with status 2). No command uses a bare ``type=int``
or ``type=float`` (tests/test_adversarial_options.py checks that, and feeds every numeric option
of every command 'nan', 'inf' and out-of-range values).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import number, parse_size, whole

T = TypeVar("T")


def _naming(check: Callable[[str], T], what: str) -> Callable[[str], T]:
    """``check`` as an argparse type named ``what`` (argparse names the type in its own messages)."""
    check.__name__ = what
    return check


def _validated(check: Callable[[str], T], what: str) -> Callable[[str], T]:
    """A numeric type (tests/test_adversarial_options.py feeds numbers to the types marked so)."""
    check.validated = True  # type: ignore[attr-defined]
    return _naming(check, what)


def real(
    name: str, low: float = -math.inf, high: float = math.inf, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """A finite number within [low, high] (ends excluded where ``*_open``; without bounds: the
    library checks the range, as ``Settings`` does for the look options)."""
    return _validated(lambda text: number(name, text, low, high, low_open=low_open, high_open=high_open), "number")


def count(name: str, low: int = -(2**63), high: int = 2**63 - 1) -> Callable[[str], int]:
    """A whole number within [low, high] (without bounds: the library checks the range)."""
    return _validated(lambda text: whole(name, text, low, high), "whole number")


def size(name: str, limit: int = 8192) -> Callable[[str], tuple[int, int]]:
    """'WIDTHxHEIGHT', each side from 1 to ``limit``."""
    return _validated(lambda text: parse_size(text, name, limit), "size")


def sizes(name: str, limit: int = 8192) -> Callable[[str], list[tuple[int, int]]]:
    """'WxH,WxH,...': one or more sizes."""
    return _validated(lambda text: [parse_size(t, name, limit) for t in str(text).split(",")], "sizes")


def counts(name: str, low: int, high: int, n: int) -> Callable[[str], tuple[int, ...]]:
    """Exactly ``n`` comma-separated whole numbers within [low, high] ('150,40')."""

    def check(text: str) -> tuple[int, ...]:
        values = tuple(whole(name, part, low, high) for part in str(text).split(","))
        if len(values) != n:
            raise DeepPhotoError(f"{name} {text!r}: give {n} whole numbers, comma-separated")
        return values

    return _validated(check, "whole numbers")


def names(option: str) -> Callable[[str], tuple[str, ...]]:
    """Comma-separated names, each once ('wave,scream'): a name given twice is refused (two rows
    of one network that would both answer to it)."""

    def check(text: str) -> tuple[str, ...]:
        parts = tuple(t.strip() for t in str(text).split(",") if t.strip())
        twice = sorted({n for n in parts if parts.count(n) > 1})
        if twice:
            raise DeepPhotoError(f"{option} {text!r}: {', '.join(twice)} named more than once")
        return parts

    return _naming(check, "names")


def named(what: str, give: str = "a file, a folder or a URI") -> Callable[[str], str]:
    """A file, folder or URI argument that is not empty ('' is the current folder to Path, and an
    unset shell variable gives one: a job would read or write the folder it was started in)."""

    def check(text: str) -> str:
        if not str(text).strip():
            raise DeepPhotoError(f"{what}: empty name (give {give})")
        return text

    return _naming(check, "name")


def path(what: str) -> Callable[[str], Path]:
    """A file name that is not empty, as a Path."""
    return _naming(lambda text: Path(named(what, "a file")(text)), "path")


def folder(what: str) -> Callable[[str], Path]:
    """A folder name that is not empty, as a Path; not '-' or /dev/stdout (batch --out - made a
    folder named '-', and /dev/stdout was refused as the file the output was redirected to)."""

    def check(text: str) -> Path:
        from deepphoto.stream.sinks import standard_stream

        if stream := standard_stream(str(text)):
            raise DeepPhotoError(f"{what} {text}: names the {stream}; give a folder to write into (e.g. styled/)")
        return Path(named(what, "a folder")(text))

    return _naming(check, "folder")


SHARED_DATA_HELP = "shared data folder (default: $DEEPPHOTO_SHARED_DATA, else ../shared/data)"
