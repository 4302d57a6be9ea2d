"""What a batch works on: files, folders (recursively) and list files expanded into work items.

Every item knows its source, the output it gets in the output folder, whether it is a video or an
image, and the source's size and modification time (what the manifest compares on the next run).
Folders keep their layout under the output folder (several folders each under their own name);
images become PNG (lossless, as ``run`` writes a folder of frames); videos keep an .mp4/.mkv/.mov
container and become .mp4 otherwise. A GIF is a photo (its first frame, as ``edit`` takes it), and
a file named as neither is judged by its content.
"""

from __future__ import annotations

import codecs
import errno
import os
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from deepphoto.errors import DeepPhotoError
from deepphoto.image_header import DamagedHeader, image_size, is_heic
from deepphoto.settings import PHOTO_INPUT_SUFFIXES, VIDEO_SUFFIXES, counted
from deepphoto.stream.output_safety import NAME_MAX
from deepphoto.stream.v4l2_names import names_v4l2
from deepphoto.stream.video_container import VIDEO_FORMATS, video_by_content

LIST_SUFFIXES = (".txt", ".lst", ".list")
PHOTO_SUFFIXES = (*PHOTO_INPUT_SUFFIXES, ".gif")  # a GIF is a photo here, as to edit (PyAV would make it a video)
MANIFEST_NAME = "deepphoto-batch.json"  # a folder holding one is an earlier batch's output


@dataclass(frozen=True)
class WorkItem:
    source: Path  # absolute
    output: Path  # absolute, inside the output folder
    kind: str  # "video" or "image"
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        return str(self.source)


@dataclass(frozen=True)
class Problem:
    """An input that cannot become a work item (reported as failed; the batch goes on)."""

    source: str
    reason: str


def readable_image(path: Path) -> bool:
    """Whether ``path`` starts as a photo kind DeepPhoto reads (JPEG, PNG, WebP, BMP, GIF, TIFF, AVIF), by
    its first bytes, whatever its name (never OpenCV's path functions: a name that is not valid
    UTF-8 crashes them); a HEIC too, so that it fails as a photo, with its reason, rather than be
    left out of a folder without a word or read as a video (FFmpeg gives its first tile)."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    if is_heic(head):  # a photo kind not read (an iPhone's): it fails as a photo, with its reason
        return True
    try:
        return image_size(head) is not None
    except DamagedHeader:
        return True  # a photo kind, damaged: it fails as a photo, with its reason


def kind_of(path: Path) -> str:
    """By the suffix; a file named as neither photo nor video is a photo if OpenCV can read it as
    one (a JPEG named .xyz), else a video (the probe says so when it is not one either)."""
    suffix = path.suffix.lower()
    if suffix in PHOTO_SUFFIXES:  # a clip saved under a photo's name is played, as `run` plays it
        return "image" if readable_image(path) or video_by_content(path) is None else "video"
    if suffix in VIDEO_SUFFIXES or suffix == ".apng":  # an APNG plays: PyAV paints every frame, as run
        return "video"
    return "image" if readable_image(path) else "video"


def output_name(relative: Path, kind: str, n: int = 1) -> Path:
    """The output's path under ``--out`` for a source at ``relative`` under its input: a photo as
    PNG, a video in its container where it is one of ``VIDEO_FORMATS``, else MP4; the ``n``-th of one
    name ``NAME-n``. A name too long for one file name (the source's 255 bytes and '-2', '.ts' made
    '.mp4') loses the end of its stem, whole characters, rather than fail after all the work."""
    if kind == "image":
        suffix = ".png"
    else:
        suffix = relative.suffix if relative.suffix.lower() in VIDEO_FORMATS else ".mp4"
    tail = f"-{n}{suffix}" if n > 1 else suffix
    stem = relative.stem
    raw, room = os.fsencode(stem), NAME_MAX - len(os.fsencode(tail))
    if len(raw) > room:
        cut = raw[:room]
        try:
            cut.decode()
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data":  # a character cut in two: its start goes too
                cut = cut[: exc.start]
        stem = os.fsdecode(cut)
    return relative.with_name(stem + tail)


def keeps_its_name(relative: Path, kind: str) -> bool:
    """Whether a source's output has the source's own name (a.png, a.mp4; not a.jpg -> a.png)."""
    return output_name(relative, kind).name.lower() == relative.name.lower()


def name_key(path: Path) -> str:
    """``path`` as a file system that ignores case (macOS's, Windows', a USB stick's exFAT) or the
    Unicode form of accents (macOS's: 'é' as one character or as 'e' and its accent) sees it: two
    outputs of one key are one file there, so the second would replace the first."""
    return unicodedata.normalize("NFC", str(path)).casefold()


def _broken_link(path: Path) -> str:
    """Why ``path`` cannot be read when it is a link to nothing ('' when it is no link): its target
    named, as the user would look for it (the target alone named no file of the folder given)."""
    try:
        target = os.readlink(path)
    except OSError:
        return ""
    return f"a link to {target}, which does not exist"


def _moved_here(was: str, its_output: str, output: Path, st: os.stat_result, made_from: dict) -> bool:
    """Whether an earlier batch's source ``was``, gone now, is the file of ``st`` moved: the same
    output name, size and modification time (a source that is merely elsewhere, a drive not
    mounted, keeps its name otherwise: another file of its name never replaces its result)."""
    return (
        Path(its_output) == output and made_from.get(was) == (st.st_size, st.st_mtime_ns) and not os.path.lexists(was)
    )


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _walk(
    folder: Path,
    out: Path,
    left_out: list[Path],
    plain: set[Path] | None = None,
    unread: list[OSError] | None = None,
) -> Iterator[tuple[Path, list[str]]]:
    """Each folder under ``folder`` (itself first) with its files' names, in name order; hidden
    folders, the output folder and earlier batches' outputs (added to ``left_out``) skipped.
    ``plain`` None: links to folders are not followed; else they are, each real folder once (a link
    loop ends), and a link to one of the ``plain`` folders (reached without links) is left to it.
    A folder that cannot be listed (no permission) is added to ``unread`` (os.walk passed over it
    without a word: its files were left out of the batch and out of its table), and so is one
    listed but not entered (read without search permission: 'chmod -R 644', 'chmod -R a-x'), its
    files named but none of them opened."""
    visited = {folder.resolve()}
    on_error = unread.append if unread is not None else None
    for root, dirs, files in os.walk(folder, followlinks=plain is not None, onerror=on_error):
        here = Path(root)
        try:
            os.stat(os.path.join(root, "."))  # a name looked up in it: what needs search permission
        except OSError as exc:
            if unread is not None:
                unread.append(OSError(exc.errno, exc.strerror, root))
            dirs[:] = []
            continue
        yield here, sorted(files)
        keep = []
        for d in sorted(dirs):
            real = (here / d).resolve()
            if d.startswith(".") or _inside(real, out) or real in visited:
                continue
            if (here / d).is_symlink() and (plain is None or real in plain):  # not followed, or reached as itself
                continue
            visited.add(real)
            try:
                earlier = (real / MANIFEST_NAME).is_file()
            except OSError:  # it cannot be entered: said when the walk reaches it
                earlier = False
            if earlier:
                left_out.append(here / d)
                continue
            keep.append(d)
        dirs[:] = keep


def _folder_files(
    folder: Path,
    out: Path,
    left_out: list[Path] | None = None,
    passed_over: list[Path] | None = None,
    unread: list[OSError] | None = None,
) -> list[Path]:
    """Video and image files under ``folder``, in name order, through links to folders too; hidden
    files, the output folder and earlier batches' output folders (added to ``left_out``) skipped.
    A file of another suffix is taken when OpenCV reads it as an image; one that is not (a text, a
    document, a pipe), or a hidden one, is added to ``passed_over``; a folder that cannot be listed,
    its error, to ``unread``. A link to nothing named as no document (a folder on a drive not
    plugged in) is taken too, to be said as such (``expand_inputs``)."""
    left_out = [] if left_out is None else left_out
    passed_over = [] if passed_over is None else passed_over
    skipped: list[Path] = []  # reached without links too: a link to one is left to its own path
    plain = {here.resolve() for here, _ in _walk(folder, out, skipped)} | {p.resolve() for p in skipped}
    found: list[Path] = []
    for here, files in _walk(folder, out, left_out, plain, unread):
        for name in files:
            p = here / name
            if name.startswith("."):
                passed_over.append(p)
            elif p.exists() and not p.is_file():  # a pipe or a device: opening it would wait forever
                passed_over.append(p)
            elif p.suffix.lower() in PHOTO_SUFFIXES + VIDEO_SUFFIXES or readable_image(p):
                found.append(p)
            elif p.is_symlink() and not p.exists() and not p.suffix[1:].isalnum():  # to a folder gone: said
                found.append(p)  # (a drive not plugged in: its photos are not 'neither video nor photo')
            else:
                passed_over.append(p)
    return found


def passed_over_note(passed_over: list[Path], name: Callable[[Path], str], shown: int = 5) -> str:
    """One line for the files of input folders left out as neither video nor photo: the first
    ``shown`` names (as ``name`` writes them), how many more, and how many hidden ones."""
    hidden = [p for p in passed_over if p.name.startswith(".")]
    seen = [p for p in passed_over if not p.name.startswith(".")]
    names = ", ".join(name(p) for p in seen[:shown])
    if len(seen) > shown:
        names += f" and {len(seen) - shown} more"
    if hidden:
        names += f"{' and ' if seen else ''}{counted(len(hidden), 'hidden file')}"
    return f"left out {counted(len(passed_over), 'file')} of the input folders, neither video nor photo: {names}"


def read_list(path: Path) -> list[str]:
    """The entries of a list file: one path a line; blank lines and '#' comments skipped; relative
    paths are relative to the list file's folder. UTF-8 (a byte-order mark, Windows Notepad's, is
    not a name), or UTF-16 where it starts with its byte-order mark (PowerShell 5's ``>``)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DeepPhotoError(f"{path}: cannot read the list ({exc.strerror or exc})") from None
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    try:
        text = raw.decode("utf-16" if utf16 else "utf-8-sig")
        if "\x00" in text:  # UTF-16 without its mark, or not text at all: no name holds one
            raise UnicodeError
    except UnicodeError:
        raise DeepPhotoError(f"{path}: cannot read the list (not UTF-8 or UTF-16 text; save it as UTF-8)") from None
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):  # a URL as it is: said to be a stream, not a missing 'rtsp:/cam'
            entries.append(line if "://" in line else str(path.parent / Path(line).expanduser()))
    return entries


def _folder_names(folders: list[Path], taken: list[str] | None = None) -> list[str]:
    """Each input folder's subfolder under ``--out`` when several are given: its own name as given
    (a link keeps the link's name; '.' is the current folder's; leading dots dropped), '-2', '-3' ...
    on a clash with another's or one of ``taken``, in input order (case-insensitively, for file
    systems that are)."""
    names: list[str] = []
    for folder in folders:
        base = Path(os.path.normpath(folder)).name or folder.resolve().name or "root"
        base = base.lstrip(".") or "folder"  # never hidden (nor the batch's own .deepphoto-batch)
        name, n = base, 2
        while name.lower() in (x.lower() for x in [*(taken or []), *names]):
            name = f"{base}-{n}"
            n += 1
        names.append(name)
    return names


def _placed(
    found: list[tuple[Path, Path, str, os.stat_result, int]],
    folders: list[Path],
    out: Path,
    recorded: dict[str, str],
    made_from: dict[str, tuple[int, int]] | None = None,
) -> list[tuple[Path, Path, str, os.stat_result, int]]:
    """``found`` with each folder's files placed under ``out``: one input folder's files straight
    in ``out`` (its layout kept), several folders' each under a subfolder of the folder's name
    (trip1/a.jpg and trip2/a.jpg give trip1/a.png and trip2/a.png, not a.png and a-2.png). A folder
    whose files an earlier batch into ``out`` placed the other way only (before batches kept
    folders apart, or a batch of it alone) keeps that placement, and one whose files it placed in a
    subfolder of another name keeps that name (folders of one name given in the other order,
    2024/ and 2024-2/ swapped; a folder given through a link, or renamed since: its files known by
    ``made_from``, as ``expand_inputs`` knows them), so a batch run again resumes and skips what it
    finished instead of doing it all again elsewhere."""
    used = sorted({f for *_, f in found if f >= 0})  # folders that give files (not duplicates, not empty)
    gone: dict[tuple[str, int, int], list[str]] = {}  # (name, size, mtime_ns) -> sources of the manifest
    for key, made in (made_from or {}).items():
        if key in recorded:
            gone.setdefault((Path(key).name, *made), []).append(key)
    befores: list[Path | None] = []  # each file's output in an earlier batch (its own, or its moved from)
    for source, _, _, st, f in found:
        before = recorded.get(str(source))
        if before is None and f >= 0:
            was = [k for k in gone.get((source.name, st.st_size, st.st_mtime_ns), []) if not os.path.lexists(k)]
            before = recorded[was[0]] if len(was) == 1 else None
        befores.append(Path(before) if before is not None else None)
    earlier: dict[int, set[str]] = {f: set() for f in used}  # the subfolders an earlier batch put them in
    for (_, relative, _, _, f), before in zip(found, befores, strict=True):
        if f >= 0 and before is not None and before.is_relative_to(out):
            parts = before.relative_to(out).parts
            if len(parts) == len(relative.parts) + 1 and parts[1:-1] == relative.parts[:-1]:
                earlier[f].add(parts[0])
    kept: dict[int, str] = {}
    for f in used:
        if len(earlier[f]) == 1 and (name := next(iter(earlier[f]))).lower() not in (n.lower() for n in kept.values()):
            kept[f] = name
    rest = [f for f in used if f not in kept]
    names = kept | dict(zip(rest, _folder_names([folders[f] for f in rest], list(kept.values())), strict=True))
    apart = len(used) > 1
    votes: dict[int, set[bool]] = {f: set() for f in used}  # how the manifest placed each folder's files
    for (_, relative, _, _, f), before in zip(found, befores, strict=True):
        if f >= 0 and before is not None:
            parent = before.parent
            if parent == out / names[f] / relative.parent:
                votes[f].add(True)
            if parent == out / relative.parent:
                votes[f].add(False)
    keep_apart = {f: (not apart) if votes[f] == {not apart} else apart for f in used}
    return [
        (s, Path(names[f]) / rel if f >= 0 and keep_apart[f] else rel, kind, st, f) for s, rel, kind, st, f in found
    ]


def expand_inputs(
    inputs: list[str],
    out: Path,
    recorded: dict[str, str] | None = None,
    left_out: list[Path] | None = None,
    passed_over: list[Path] | None = None,
    made_from: dict[str, tuple[int, int]] | None = None,
    moved: dict[str, str] | None = None,
) -> tuple[list[WorkItem], list[Problem]]:
    """Work items for ``inputs`` (files, folders, list files), each source once, each output
    unique (a clash gets '-2', '-3' ... in input order); several folders' files each under a
    subfolder of their folder's name (``_placed``). ``recorded``: source -> output of the
    earlier batches into ``out`` (its manifest): a source keeps the name it was given, and a name
    given to another source is never given to this one, whatever this run's inputs. ``left_out``
    gets the folders inside input folders that were skipped as earlier batches' outputs;
    ``passed_over`` the files in input folders that are neither video nor photo (a text, a hidden
    file), each once. ``made_from``: source -> (size, mtime_ns) of the earlier batches' entries; a
    source that is new to them but has the name, size and time of one that is gone (its folder
    renamed or mounted elsewhere) is that source moved: it keeps its output, and ``moved`` gets
    new source -> old (the manifest's entry follows it), rather than everything made again as -2."""
    out = out.resolve()
    recorded = recorded or {}
    # output (as name_key) -> the source an earlier batch wrote it for
    owner = {name_key(Path(o)): k for k, o in recorded.items()}
    pairs: list[tuple[Path, Path, int]] = []  # (source, path relative to its folder, that folder's index or -1)
    folders: list[Path] = []  # the input folders, as given (made absolute), in input order
    problems: list[Problem] = []

    given_inside: list[str] = []  # inputs given that are the output folder or in it

    def add(entry: str, from_list: bool) -> None:
        path = Path(entry).expanduser()
        listing = path.suffix.lower() in LIST_SUFFIXES and not from_list and path.is_file()  # read wherever it is
        if path.exists() and not listing and _inside(path.resolve(), out):  # its files left out, silently
            given_inside.append(entry)
            return
        if path.is_dir():
            skipped: list[Path] = []
            neither: list[Path] = []
            unread: list[OSError] = []
            files = _folder_files(path, out, skipped, neither, unread)
            if passed_over is not None:
                passed_over.extend(f for f in neither if f not in passed_over)
            for exc in unread:  # a folder not listed: its files are not in the batch, said so
                where = entry if Path(exc.filename or path) == path else str(exc.filename)
                problems.append(Problem(where, f"cannot be read ({exc.strerror or exc}): its files are left out"))
            if not files and not (unread and Path(unread[0].filename or path) == path):
                besides = f" besides earlier batches' outputs ({', '.join(map(str, skipped))})" if skipped else ""
                problems.append(Problem(entry, f"folder holds no video or image files{besides}"))
            if left_out is not None:
                left_out.extend(f for f in skipped if f not in left_out)
            folders.append(path.absolute())
            pairs.extend((f, f.relative_to(path), len(folders) - 1) for f in files)
        elif path.is_file():
            if path.suffix.lower() in LIST_SUFFIXES and not from_list:
                try:
                    for listed in read_list(path):
                        add(listed, True)
                except DeepPhotoError as exc:  # its reason, without the name the problem is reported under
                    problems.append(Problem(entry, str(exc).removeprefix(f"{path}: ")))
            else:
                pairs.append((path, Path(path.name), -1))
        elif path.exists():  # a pipe or a device
            problems.append(Problem(entry, "is not a regular file (a pipe or a device); give a file"))
        elif "://" in entry or names_v4l2(entry):  # a stream or a camera, as run takes them
            problems.append(Problem(entry, f"a stream or a camera: batch styles files ('deepphoto run {entry} OUT')"))
        else:
            problems.append(Problem(entry, _broken_link(path) or "no such file or folder"))

    for entry in inputs:
        add(entry, False)

    found: list[tuple[Path, Path, str, os.stat_result, int]] = []  # (source, relative, kind, its stat, folder)
    inside: list[Path] = []
    seen: set[Path] = set()
    for given, relative, folder in pairs:
        try:
            source = given.resolve()
        except (RuntimeError, OSError):  # a link that leads to itself
            problems.append(Problem(str(given), "a link that leads nowhere (a loop of links)"))
            continue
        if _inside(source, out):  # a result of an earlier batch, or the output folder given as input
            inside.append(source)
            continue
        if source in seen:
            continue
        seen.add(source)
        try:
            st = source.stat()
        except OSError as exc:  # named as the user finds it in the folder: a link by its own name
            broken = _broken_link(given) if exc.errno == errno.ENOENT else ""
            problems.append(Problem(str(given), broken or f"cannot be read ({exc.strerror or exc})"))
            continue
        found.append((source, relative, kind_of(source), st, folder))
    found = _placed(found, folders, out, recorded, made_from)

    # names given first to the sources whose output keeps their own name: a.png and a.jpg make
    # a.png (a.png's) and a-2.png, a.mp4 and a.avi a.mp4 and a-2.mp4 (a.png's result is a.png)
    outputs: dict[int, Path] = {}
    taken: set[str] = set()  # outputs given, as name_key: A.png and a.png are one file on many disks
    for i in sorted(range(len(found)), key=lambda i: not keeps_its_name(found[i][1], found[i][2])):
        source, relative, kind, st, _ = found[i]
        output = out / output_name(relative, kind)
        before = recorded.get(str(source))
        if before is not None and Path(before).parent == output.parent and Path(before).suffix == output.suffix:
            output = Path(before)  # the name an earlier batch gave this source
        n = 2
        while name_key(output) in taken or owner.get(name_key(output), str(source)) != str(source):  # another's
            was = owner[name_key(output)] if name_key(output) not in taken else None
            if before is None and was in recorded and _moved_here(was, recorded[was], output, st, made_from or {}):
                owner[name_key(output)] = str(source)  # the same file moved: the entry follows it
                if moved is not None:
                    moved[str(source)] = was
                break
            output = out / output_name(relative, kind, n)
            n += 1
        taken.add(name_key(output))
        outputs[i] = output
    items = [WorkItem(s, outputs[i], kind, st.st_size, st.st_mtime_ns) for i, (s, _, kind, st, _) in enumerate(found)]
    problems = list(dict.fromkeys(problems))  # a broken link given and in a folder given: once
    if not items and not problems and (inside or given_inside):
        problems.append(Problem(str(out), "is the output folder and holds every input: give another --out"))
    else:
        why = "is the output folder or inside it: its files are not styled (give another --out to style them)"
        problems.extend(Problem(entry, why) for entry in given_inside)
    return items, problems
