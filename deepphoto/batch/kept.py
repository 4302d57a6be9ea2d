"""A video's finished chunks kept until it is joined, so that a batch stopped midway through a long
video (Ctrl-C, SIGTERM, a crash, power loss) resumes it where it stopped on the same command again.

Each video has a folder ``.deepphoto-batch/kept/<hash of its source's path>/`` under ``--out``.
``kept.json`` there says what its chunks are made from (``identity``: the source's size,
modification time and a hash of its first MiB; the settings' digest, which covers the look, the
weights and the batch recipe; the cut; the container and encoder; the versions of DeepPhoto and of
FFmpeg's libraries, and a digest of DeepPhoto's code, whose version number is not raised for each
change). Beside each finished chunk (``chunk-00003.mp4``) its record
(``chunk-00003.json``): its place in the cut, what its render said, and the file's size and SHA-256
taken once the encoder had closed it and it had been renamed into place (a chunk is written under a
temporary name until then, so one killed mid-write never has its name, and never a record). A
chunk is reused only while all of this holds; a folder made for other settings or an older source
is emptied as a whole. The folder goes when its video is joined (or fails); ``kept`` when empty.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import av

from deepphoto.batch.chunks import CHUNK_CRF, Chunk, ChunkResult, VideoPlan, file_digest
from deepphoto.batch.cluster import WORK_FOLDER
from deepphoto.batch.inputs import WorkItem
from deepphoto.stream.output_safety import replace_with_text
from deepphoto.stream.video_container import container_format, video_encoder

FORMAT = 1
KEPT = "kept"  # inside the batch's hidden WORK_FOLDER
IDENTITY = "kept.json"
HEAD = 1 << 20  # bytes of the source hashed besides its size and modification time


def kept_root(out: Path) -> Path:
    return Path(out) / WORK_FOLDER / KEPT


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("deepphoto")
    except Exception:  # noqa: BLE001 - not installed as a package (a checkout on the path)
        return "unknown"


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 of DeepPhoto's own code (the names and contents of its ``.py`` files). Its version
    number stays the same from one change to the next, so chunks made by an older DeepPhoto (another
    decoding, colour conversion or pipeline) would be joined with chunks made by the new one."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def identity(item: WorkItem, digest: str, cut: dict[str, object]) -> dict[str, object]:
    """Everything a video's chunks are made from (see the module's description)."""
    fmt = container_format(item.output)
    return {
        "format": FORMAT,
        "source": str(item.source),
        "size": item.size,
        "mtime_ns": item.mtime_ns,
        "head": file_digest(item.source, HEAD),
        "settings": digest,
        "cut": cut,
        "container": fmt,
        "encoder": list(video_encoder(fmt, CHUNK_CRF)),
        "deepphoto": _version(),
        "code": code_digest(),
        "av": av.__version__,
        "ffmpeg": {name: list(v) for name, v in sorted(av.library_versions.items())},
    }


SOURCE_FIELDS = ("source", "size", "mtime_ns", "head")
MAKER_FIELDS = ("deepphoto", "code", "av", "ffmpeg")


def _write_json(path: Path, data: object) -> None:
    """Written beside, flushed and renamed: a file that is whole or absent."""
    replace_with_text(path, json.dumps(data, sort_keys=True), sync=True)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class KeptChunks:
    """The kept chunks of one video (``folder`` named by its source's path)."""

    def __init__(self, out: Path, source: Path) -> None:
        self.root = kept_root(out)
        self.folder = self.root / hashlib.sha256(os.fsencode(str(source))).hexdigest()[:16]

    def path(self, index: int, suffix: str) -> Path:
        return self.folder / f"chunk-{index:05d}{suffix}"

    def _record(self, index: int) -> Path:
        return self.folder / f"chunk-{index:05d}.json"

    def chunk_files(self) -> list[Path]:
        return sorted(self.folder.glob("chunk-*.json")) if self.folder.is_dir() else []

    def open(self, ident: dict[str, object]) -> str:
        """The folder made ready for chunks made from ``ident``: kept chunks made from anything else
        are removed. Returns '' or one line saying what was discarded and why."""
        said = ""
        old = _read_json(self.folder / IDENTITY)
        if self.folder.is_dir() and old != ident:
            stale = len(self.chunk_files())
            if stale:
                others = [k for k in ident if not isinstance(old, dict) or old.get(k) != ident[k]]
                if not isinstance(old, dict) or set(others) & set(SOURCE_FIELDS):
                    why = "the source has changed"
                elif set(others) <= set(MAKER_FIELDS):
                    why = "they were made by another version of DeepPhoto or of FFmpeg"
                else:
                    why = "they were made with other settings"
                what = "kept chunk" if stale == 1 else "kept chunks"
                said = f"{stale} {what} discarded ({why}); rendering it from its start"
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        for leftover in self.folder.glob(".*.partial*"):  # a chunk or record killed mid-write
            leftover.unlink(missing_ok=True)
        if old != ident or not (self.folder / IDENTITY).is_file():
            _write_json(self.folder / IDENTITY, ident)
        return said

    def reusable(self, plan: VideoPlan, suffix: str) -> dict[int, ChunkResult]:
        """The chunks of ``plan`` kept whole (their place in the cut, size and SHA-256 as recorded);
        any other chunk file and record are removed (rendered again)."""
        found: dict[int, ChunkResult] = {}
        for chunk in plan.chunks:
            record, path = self._record(chunk.index), self.path(chunk.index, suffix)
            result = self._check(chunk, record, path)
            if result is None:
                record.unlink(missing_ok=True)
                path.unlink(missing_ok=True)
            else:
                found[chunk.index] = result
        return found

    def _check(self, chunk: Chunk, record: Path, path: Path) -> ChunkResult | None:
        data = _read_json(record)
        if not isinstance(data, dict) or data.get("chunk") != asdict(chunk):
            return None
        try:
            if path.stat().st_size != data.get("size") or file_digest(path) != data.get("sha256"):
                return None  # cut short (a power loss), damaged, or another file
            return ChunkResult(
                chunk.index,
                path,
                int(data["frames"]),
                int(data["bad_packets"]),
                int(data["failed"]),
                float(data["seconds"]),
                str(data["ended_early"]),
                notes=tuple(str(n) for n in data.get("notes", ())),
            )
        except (OSError, KeyError, TypeError, ValueError):
            return None

    def keep(self, chunk: Chunk, result: ChunkResult) -> None:
        """Record a finished chunk (its file fingerprinted by the worker: ``result.size``, ``sha256``);
        quietly not where the record cannot be written (the chunk is still used in this batch)."""
        if not result.sha256:
            return
        data = {
            "chunk": asdict(chunk),
            "frames": result.frames,
            "bad_packets": result.bad_packets,
            "failed": result.failed,
            "seconds": result.seconds,
            "ended_early": result.ended_early,
            "size": result.size,
            "sha256": result.sha256,
            "notes": list(result.notes),
        }
        try:
            _write_json(self._record(chunk.index), data)
        except OSError:
            pass

    def remove(self) -> None:
        """The folder removed (its video joined, or failed); ``kept`` too when it is empty."""
        shutil.rmtree(self.folder, ignore_errors=True)
        remove_empty_root(self.root)


def remove_empty_root(root: Path) -> None:
    try:
        root.rmdir()  # only when empty
    except OSError:
        pass


def _moved_to(out: Path, planned: set[str]) -> dict[tuple[int, int], list[str]]:
    """(size, mtime_ns) -> the ``planned`` sources of that size and time with no chunks kept under
    their own path: where a source gone may have moved (its folder renamed, its drive mounted at
    another path; a rename keeps both)."""
    found: dict[tuple[int, int], list[str]] = {}
    for source in sorted(planned):
        if KeptChunks(out, Path(source)).chunk_files():
            continue
        try:
            st = os.stat(source)
        except OSError:
            continue
        found.setdefault((st.st_size, st.st_mtime_ns), []).append(source)
    return found


def _follow(folder: Path, ident: dict[str, object], out: Path, source: str) -> None:
    """The kept ``folder`` of a source gone made ``source``'s (the file moved): renamed to its
    folder, its identity naming it (``KeptChunks.open`` still checks the rest, its first MiB too,
    so another file of that size and time discards them)."""
    target = KeptChunks(out, Path(source)).folder
    shutil.rmtree(target, ignore_errors=True)  # holds no chunk (``_moved_to``)
    folder.rename(target)
    _write_json(target / IDENTITY, {**ident, "source": source})


def sweep_kept(out: Path, planned: set[str], settled: set[str]) -> None:
    """Kept folders that can never be used removed: those of inputs of this batch that are not to
    be rendered (``settled``: done before, or refused) and those whose source is gone or has
    changed. Those of ``planned`` videos are judged when planned; those of other unchanged sources
    stay for the batch that has them. A source gone whose size and time a planned video has, with
    none kept of its own, is that video moved (its folder renamed, its drive mounted elsewhere): its
    chunks follow it, so the batch run again resumes it rather than render it from its start."""
    root = kept_root(out)
    if not root.is_dir():
        return
    moved = _moved_to(out, planned)
    for folder in sorted(root.iterdir()):
        if not folder.is_dir():
            continue
        ident = _read_json(folder / IDENTITY)
        source = ident.get("source") if isinstance(ident, dict) else None
        if isinstance(source, str) and source in planned:
            continue
        if isinstance(source, str) and source in settled:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        try:
            st = os.stat(source) if isinstance(source, str) else None
        except OSError:
            st = None
        was = (ident.get("size"), ident.get("mtime_ns")) if isinstance(ident, dict) else None
        if st is None and isinstance(ident, dict) and all(isinstance(v, int) for v in was) and moved.get(was):
            try:
                _follow(folder, ident, out, moved[was].pop(0))
                continue
            except OSError:  # not renamed: removed as a source gone, as before
                pass
        if st is None or st.st_size != ident.get("size") or st.st_mtime_ns != ident.get("mtime_ns"):
            shutil.rmtree(folder, ignore_errors=True)
    remove_empty_root(root)
