"""Built engines on disk, keyed by what makes them valid: the float model's hash, the backend and
its version, the device and the precision. A file whose recorded digest no longer matches (a
damaged or half-written cache) is reported and rebuilt, never loaded.

A cache that cannot be written (a file in its way, a read-only file system) is still read: engines
built into it earlier are used. What is built then goes to a temporary folder of the process
(``assets.writable_cache``), used and not kept."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from deepphoto.assets import cache_dir, cache_writable, sha256_of, stand_in, writable_cache
from deepphoto.stream.output_safety import discard, temporary_name


@dataclass(frozen=True)
class EngineKey:
    model: str  # lightnet | stylenet
    model_hash: str  # SHA-256 of the float ONNX file the engine was built from
    backend: str  # onnx | tensorrt
    backend_version: str
    device: str
    precision: str  # fp32 | fp16 | int8
    recipe: str = "r1"  # how engines are built (quantization settings, gates): a new recipe rebuilds

    @property
    def stem(self) -> str:
        parts = (
            self.model,
            self.model_hash[:16],
            self.backend,
            self.backend_version,
            self.device,
            self.precision,
            self.recipe,
        )
        return "-".join(_slug(p) for p in parts)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_") or "none"


def cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo where it exists), else the machine architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def engine_dir() -> Path:
    """Where engines are built and kept: the cache, or a temporary stand-in when it cannot be written."""
    return writable_cache("engines")


def engine_cache_writable() -> bool:
    """Whether built engines are kept (the cache can be written); warns once when not."""
    return cache_writable("engines")


@dataclass
class CachedEngine:
    path: Path  # the engine file (.onnx for ONNX Runtime, .plan for TensorRT)
    info: dict  # what the build recorded: gate results, precision actually used, ...


def lookup(key: EngineKey, suffix: str, locked: bool = False) -> CachedEngine | None:
    """The cached engine for ``key``, or None when absent or damaged (then it is removed): from
    the cache (also one that cannot be written), else from this process's stand-in for it.
    Judged under the key's shared lock (``key_lock``; ``locked``: the caller holds it): while
    another process builds or stores that engine (its file in place, its record not yet), an
    intact engine is used (a rebuild with build-engine --force or --calib kept every run waiting
    for it) and anything else is taken as being stored: never removed (a run starting then removed
    the engine another had just stored, and that one failed to open it)."""
    found = None
    for folder in dict.fromkeys(f for f in (cache_dir() / "engines", stand_in("engines")) if f is not None):
        if found is None and locked:
            found = _lookup_in(folder, key, suffix)
        elif found is None:
            with key_lock(folder, key, shared=True, wait=False) as held:
                found = _lookup_in(folder, key, suffix, judged=held)
    return found


# the engine locks this process holds (their files' paths, a count each), so that a thread waiting
# for one is told whether a thread of its own program holds it (two Pipelines in two threads of a
# library user's program were told of 'another DeepPhoto process')
_HELD: Counter[str] = Counter()
_HELD_LOCK = threading.Lock()


def _holder(name: Path) -> str:
    """Who holds the lock of file ``name`` that this process could not take, in words."""
    with _HELD_LOCK:
        mine = _HELD[str(name)] > 0
    return "another thread of this program" if mine else "another DeepPhoto process"


@contextlib.contextmanager
def key_lock(folder: Path, key: EngineKey, shared: bool = False, wait: bool = True) -> Iterator[bool]:
    """Hold the lock of ``key``'s engine in ``folder`` (``flock`` on a hidden file beside it): one
    builder at a time (a second process starting with an empty cache waits for the first's engine
    rather than building its own; so do two threads of one program), and no lookup while one stores;
    one that waits is told who holds it (``_holder``). Yields whether it is held: where
    no lock can be taken (a read-only cache, a file system without locks) True, as before locks;
    False only when ``wait`` is off and another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock
        yield True
        return
    name = folder / f".{key.stem}.lock"
    fd = -1  # a lookup makes no lock file: one that is absent means no build of the key was ever locked
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY) if not shared else (os.O_RDONLY,):
        with contextlib.suppress(OSError):
            fd = os.open(name, flags, 0o666)
            break
    if fd < 0:
        yield True
        return
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            if not shared:
                print(
                    f"deepphoto: waiting for {_holder(name)} building {key.stem} (then it is used)",
                    file=sys.stderr,
                    flush=True,
                )
            fcntl.flock(fd, mode)
        except OSError:  # a file system without locks (some NFS): as before locks
            pass
        with _HELD_LOCK:
            _HELD[str(name)] += 1
        try:
            yield True
        finally:
            with _HELD_LOCK:
                _HELD[str(name)] -= 1
                if not _HELD[str(name)]:
                    del _HELD[str(name)]
    finally:
        os.close(fd)


def _lookup_in(folder: Path, key: EngineKey, suffix: str, judged: bool = True) -> CachedEngine | None:
    """The engine of ``key`` in ``folder`` when intact; one that is not is removed when ``judged``
    (else another process is storing it: left alone, quietly)."""
    path = folder / f"{key.stem}{suffix}"
    meta = path.with_suffix(".json")
    if not path.exists() and not meta.exists():
        return None
    try:
        info = json.loads(meta.read_text())
        intact = info.get("key") == asdict(key) and (
            info.get("fallback") or (path.is_file() and info.get("sha256") == sha256_of(path))
        )
    except PermissionError as exc:  # another user's (a shared cache): not damaged, and not removed
        print(
            f"deepphoto: warning: cached engine {path.name} cannot be read ({exc.strerror or exc}): not used",
            file=sys.stderr,
        )
        return None
    except (OSError, ValueError):
        intact = False
    if not intact and not judged:
        return None
    if not intact:
        print(f"deepphoto: warning: cached engine {path.name} is damaged or stale; building it again", file=sys.stderr)
        discard(path, meta)  # quietly: a read-only cache keeps them
        return None
    return CachedEngine(path, info)


def store(key: EngineKey, suffix: str, built: Path | None, info: dict) -> CachedEngine:
    """Record a build: ``built`` (a finished temporary file, moved into place) and its metadata.
    ``built=None`` records a fallback: the gate refused the precision, the float model is used."""
    path = engine_dir() / f"{key.stem}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {**info, "key": asdict(key)}
    if built is not None:
        built.replace(path)
        info["sha256"] = sha256_of(path)
    meta = path.with_suffix(".json")
    tmp = temporary_name(meta)  # unique: two processes storing one key never share it
    try:
        tmp.write_text(json.dumps(info, indent=1) + "\n")
        tmp.replace(meta)
    finally:
        discard(tmp)
    return CachedEngine(path, info)


def temporary_path(key: EngineKey, suffix: str) -> Path:
    """A new file name for a build in progress, beside the engine's (unique: two processes may
    build the same key). Not made here: the builder writes it as any file of the user's, so the
    engine is readable as the cache's other files are (a temporary file's own mode, 0600, kept an
    engine built into a shared cache, a container's, from every other user: 'damaged', and built
    again). What a killed build left (the OOM killer, a power cut) is removed (``temporary_name``)."""
    folder = engine_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return temporary_name(folder / f"{key.stem}{suffix}")
