"""One set of rules for every output a job writes: never over a source, never over an existing
file without ``--overwrite``, always under a temporary name of its own until complete."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from deepphoto.errors import DeepPhotoError


def writable_folder(folder: Path) -> None:
    """A one-line error unless ``folder`` exists and this process may write into it."""
    if not folder.is_dir():
        raise DeepPhotoError(f"{folder}: output folder does not exist")
    if not os.access(folder, os.W_OK):
        raise DeepPhotoError(f"{folder}: output folder is not writable")


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file or folder (through links, by device and inode)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_not_source(output: str | Path, source: str | Path) -> None:
    """A one-line error when the output names the input itself (a file, or a folder of frames)."""
    out, src = str(output), str(source)
    if "://" in out or "://" in src or out.startswith("/dev/"):
        return
    if Path(out).exists() and Path(src).exists() and same_file(Path(out), Path(src)):
        raise DeepPhotoError(f"{out}: is the input; write the output to another file or folder")


def check_output_file(path: Path, overwrite: bool, source: Path | str | None = None) -> None:
    """Refuse, in one line, an output file that cannot be written or must not be replaced."""
    path = Path(path)
    writable_folder(path.parent if str(path.parent) else Path("."))
    if path.is_dir():
        raise DeepPhotoError(f"{path}: is a folder; name an output file (or end it with / for frames)")
    if source is not None:
        check_not_source(path, source)
    if path.exists() and not overwrite:
        raise DeepPhotoError(f"{path}: already exists (use --overwrite to replace it)")


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path``, unique to this writer (two jobs never share one)."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(3)}.partial{path.suffix}")
