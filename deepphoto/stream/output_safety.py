"""One set of rules for every output a job writes: never over a source, never over an existing
file without ``--overwrite``, always under a temporary name of its own until complete, and no
temporary file left behind when a job fails.

- ``check_output_file`` / ``check_output_folder``: refuse, before any work, an output that cannot
  be written or must not be replaced;
- ``check_not_source``: the output is none of the inputs (same file or folder through links, by
  device and inode), and no frame written into a folder can replace an input image there;
- ``temporary_name`` / ``temporary_folder``: hidden names beside the output, unique to the writer;
- ``publish``: move a finished temporary file into place (without ``--overwrite`` never over a file
  that appeared meanwhile); ``move_into_place``: a finished file from a work folder, on any disk;
  ``discard``: remove temporary files, quietly.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import itertools
import os
import secrets
import shutil
from pathlib import Path

from deepphoto.errors import DeepPhotoError, option
from deepphoto.settings import IMAGE_SUFFIXES


def writable_folder(folder: Path) -> None:
    """A one-line error unless ``folder`` exists and this process may write into it."""
    if not folder.is_dir():
        raise DeepPhotoError(f"{folder}: output folder does not exist")
    if not os.access(folder, os.W_OK):
        raise DeepPhotoError(f"{folder}: output folder is not writable")


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # no room left on the output's disk (or in the user's quota)


def cannot_write(path: str | Path, exc: OSError) -> DeepPhotoError:
    """The one-line error for an output that could not be written: named as the user named it
    (never the temporary name the system's message holds), and a full disk said as such."""
    reason = (exc.strerror or os.strerror(exc.errno)) if exc.errno else str(exc)
    if exc.errno in DISK_FULL:
        return DeepPhotoError(f"{path}: cannot be written: the disk is full ({reason})")
    return DeepPhotoError(f"{path}: cannot be written ({reason})")


def disk_free(folder: Path) -> int | None:
    """Bytes this user may still write on the disk of ``folder`` (of its nearest folder that exists,
    where it is still to be made), or None where that cannot be told."""
    existing = next((p for p in (Path(folder), *Path(folder).parents) if p.exists()), None)
    try:
        return None if existing is None else shutil.disk_usage(existing).free
    except OSError:
        return None


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file or folder (through links, by device and inode)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


FRAME_SUFFIX = ".png"  # what a folder output holds: one image per frame


def check_not_source(output: str | Path, *sources: str | Path | None) -> None:
    """A one-line error when the output names an input (the same file or folder, through links,
    by device and inode; an image in an input folder, which that folder's frames include), or is a
    folder of frames that holds an input image a frame could replace."""
    out = str(output)
    if "://" in out or out.startswith("/dev/"):
        return
    out_path = Path(out)
    folder_out = out.endswith(("/", os.sep)) or out_path.is_dir() or not out_path.suffix
    for source in sources:
        if source is None or "://" in str(source):
            continue
        src = Path(source)
        if not src.exists():
            continue
        if out_path.exists() and same_file(out_path, src):
            raise DeepPhotoError(f"{out}: is the input; write the output to another file or folder")
        if not folder_out and src.is_dir() and out_path.suffix.lower() in IMAGE_SUFFIXES and out_path.exists():
            if same_file(out_path.parent, src):  # a folder input reads every image in it, this one too
                raise DeepPhotoError(
                    f"{out}: is one of the input folder's images; write the output to another file or folder"
                )
        if folder_out and src.is_file() and src.suffix.lower() == FRAME_SUFFIX and same_file(src.parent, out_path):
            raise DeepPhotoError(
                f"{out}: holds the input {src.name}, which a frame written there could replace; "
                "write the frames to another folder"
            )


def check_output_file(path: Path, overwrite: bool, source: Path | str | None = None) -> None:
    """Refuse, in one line, an output file that cannot be written or must not be replaced."""
    path = Path(path)
    writable_folder(path.parent if str(path.parent) else Path("."))
    if path.is_dir():
        raise DeepPhotoError(f"{path}: is a folder; name an output file (or end it with / for frames)")
    if source is not None:
        check_not_source(path, source)
    if os.path.lexists(path) and not overwrite:  # a link counts even when what it names is gone
        if path.is_symlink() and not path.exists():
            target = os.readlink(path)
            raise DeepPhotoError(
                f"{path}: is a link to {target}, which does not exist "
                f"(use {option('overwrite', True)} to replace the link)"
            )
        raise DeepPhotoError(f"{path}: already exists (use {option('overwrite', True)} to replace it)")


def check_folder_can_be_made(folder: Path) -> None:
    """Refuse, in one line and before any work, a folder a job will write into (a report, a
    sheet) that is a file, or that cannot be made or written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DeepPhotoError(f"{folder}: is a file, not a folder")
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise DeepPhotoError(f"{existing}: is a file, not a folder")
    writable_folder(existing)


def write_text_atomic(path: Path, text: str) -> None:
    """Text to a temporary name beside ``path``, then moved into place (never half a file); a
    one-line error where it cannot be written."""
    try:
        replace_with_text(Path(path), text)
    except OSError as exc:
        raise DeepPhotoError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def replace_with_text(path: Path, text: str, sync: bool = False) -> None:
    """``path`` replaced by ``text`` (UTF-8) written whole beside it first, so it is whole or absent;
    ``sync``: flushed to the disk before the rename (a record that must survive a power cut). The
    temporary file is removed on any failure, whose ``OSError`` is raised as it is."""
    tmp = temporary_name(path)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        discard(tmp)


def check_output_folder(folder: Path, overwrite: bool) -> None:
    """Refuse, in one line and before any work, a folder output that cannot be written, or that
    already holds images and ``overwrite`` is not given."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir() and not folder.is_file():  # /dev/null, /dev/stdout, a pipe
        raise DeepPhotoError(
            f"{folder}: is not a regular file or folder (a pipe or a device); name a file or a folder/, "
            "or null:// to discard the frames"
        )
    if folder.exists() and not folder.is_dir():
        raise DeepPhotoError(f"{folder}: is a file, not a folder (a folder output ends with /)")
    writable_folder(folder if folder.is_dir() else (folder.parent if str(folder.parent) else Path(".")))
    if folder.is_dir() and not overwrite and any(p.suffix.lower() == FRAME_SUFFIX for p in folder.iterdir()):
        raise DeepPhotoError(f"{folder}: already holds images (use {option('overwrite', True)} to replace them)")


_WRITERS = itertools.count(1)  # numbers the writers of this process (next() is atomic under the GIL)


@functools.cache
def _host() -> str:
    """A short mark of this machine (its name), so that a folder shared between machines is swept
    only of this machine's dead writers' files."""
    import socket

    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


def _writer_tag() -> str:
    """pid, this process's writer number, a random part and the machine: two writers never share
    one (24 random bits alone gave a 1-in-8 chance of a repeat among 2,000 writers of one process)."""
    return f"{os.getpid()}-{next(_WRITERS)}-{secrets.token_hex(3)}-{_host()}"


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path``, unique to this writer (two jobs never share one). What a
    killed writer of the same name left (SIGKILL, out of memory: no clean-up ran) is removed."""
    path = Path(path)
    tag, end = _writer_tag(), f".partial{path.suffix}"
    stem = _fitting_stem(path.stem, len(os.fsencode(f"..{end}")))
    if not path.parent.name.endswith(".partial"):  # a writer's own staging folder holds only its files
        sweep_stale(path.parent, f".{stem}.", end)
    return path.with_name(f".{stem}.{tag}{end}")


NAME_MAX = 255  # bytes in one file name (Linux, macOS, Windows' NTFS counts characters: no fewer)
TAG_ROOM = 40  # bytes the longest writer tag takes: pid (7 digits), writer number, 6 + 6 hex, dots


def _fitting_stem(stem: str, beside: int) -> str:
    """``stem``, or when it is too long to fit in one file name with ``beside`` more bytes and a
    writer's tag, its start (whole UTF-8 characters) and a short hash of all of it: a long but valid
    output name (230 bytes, 76 Japanese characters) failed as 'File name too long' after all the
    work, through its temporary name's longer one. The same for every writer of one output, so a
    dead writer's temporary file is found by the next one's sweep; two long names stay apart."""
    raw = os.fsencode(stem)
    room = max(16, NAME_MAX - beside - TAG_ROOM)
    if len(raw) <= room:
        return stem
    cut = raw[: room - 9]
    while cut and cut[-1] & 0xC0 == 0x80:  # continuation bytes of a character cut in two
        cut = cut[:-1]
    if cut and cut[-1] >= 0xC0:  # and its first byte
        cut = cut[:-1]
    return os.fsdecode(cut) + "~" + hashlib.sha1(raw).hexdigest()[:8]


STALE_AFTER = 60.0  # seconds a dead writer's temporary file is left before another removes it


_SWEPT: set[tuple[str, str, str]] = set()  # (folder, prefix, suffix) swept by this process


def sweep_stale(folder: Path, prefix: str, suffix: str) -> None:
    """Remove temporary files ``prefix + "PID-N-RANDOM-HOST" + suffix`` in ``folder`` whose writer
    (the process PID on this machine) is gone and that have not changed for ``STALE_AFTER``
    seconds; once per folder and name in a process (a folder of frames is not listed per frame);
    quietly (a folder that cannot be listed, a file another job removes first)."""
    import time

    key = (str(folder), prefix, suffix)
    if key in _SWEPT:
        return
    _SWEPT.add(key)
    try:
        names = [p for p in Path(folder or ".").iterdir() if p.name.startswith(prefix) and p.name.endswith(suffix)]
    except OSError:
        return
    for stale in names:
        parts = stale.name[len(prefix) : len(stale.name) - len(suffix)].split("-")
        if len(parts) != 4 or not (parts[0].isascii() and parts[0].isdigit()) or parts[3] != _host():
            continue
        if _alive(int(parts[0])):
            continue
        try:
            if time.time() - stale.lstat().st_mtime > STALE_AFTER and stale.is_file() and not stale.is_symlink():
                stale.unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or cannot tell: leave its file
    return True


def temporary_folder(folder: Path) -> Path:
    """A new hidden folder for frames in progress: inside ``folder`` when it exists (only it need
    be writable), else beside it (renamed to it when complete); unique to this writer."""
    folder = Path(folder)
    name = f".{_fitting_stem(folder.name or 'frames', len(b'...partial'))}.{_writer_tag()}.partial"
    staging = folder / name if folder.is_dir() else folder.parent / name
    staging.mkdir()
    return staging


def publish(tmp: Path, path: Path, overwrite: bool) -> Path:
    """Move the finished temporary file ``tmp`` to ``path`` (same folder, so atomically).

    Without ``overwrite`` a file that appeared at ``path`` while the job ran (another job) is never
    replaced: the result is kept beside it under a free name, and a one-line error says where."""
    tmp, path = Path(tmp), Path(path)
    if overwrite:
        os.replace(tmp, path)
        return path
    try:
        os.link(tmp, path)  # fails when the name is taken: no window between a check and the move
    except FileExistsError:
        pass
    except OSError:  # no hard links on this file system (FAT, some network shares)
        if not os.path.lexists(path):
            os.replace(tmp, path)
            return path
    else:
        tmp.unlink()
        return path
    kept = free_name(path)
    os.replace(tmp, kept)
    raise DeepPhotoError(f"{path}: appeared while this job ran and was not replaced; this job's result is {kept}")


def move_into_place(made: Path, path: Path) -> None:
    """The finished file ``made`` (in a job's own work folder) renamed to ``path``, replacing it;
    where the two are on different file systems (a disk mounted inside the output folder: 'Invalid
    cross-device link'), copied to a temporary name beside ``path`` first and renamed, so ``path``
    is complete or absent. ``made`` is then left where it was (its folder is the caller's to clear)."""
    try:
        os.replace(made, path)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    tmp = temporary_name(path)
    try:
        shutil.copyfile(made, tmp)
        os.replace(tmp, path)
    finally:
        discard(tmp)


def free_name(path: Path) -> Path:
    """``path``, numbered (``NAME-1.SUFFIX``, ``NAME-2.SUFFIX`` ...) to a name nothing has."""
    for i in range(1, 10000):
        candidate = path.with_name(f"{path.stem}-{i}{path.suffix}")
        if not os.path.lexists(candidate):
            return candidate
    raise DeepPhotoError(f"{path}: no free name beside it")


def discard(*paths: Path | None) -> None:
    """Remove temporary files or folders; quietly (they may be gone already, or never made)."""
    for path in paths:
        if path is None:
            continue
        try:
            if Path(path).is_dir() and not Path(path).is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                Path(path).unlink(missing_ok=True)
        except OSError:
            pass
