"""Built engines on disk, keyed by what makes them valid: the float model's hash, the backend and
its version, the device and the precision. A file whose recorded digest no longer matches (a
damaged or half-written cache) is reported and rebuilt, never loaded.

A cache that cannot be written (a file in its way, a read-only file system) is still read: engines
built into it earlier are used. What is built then goes to a temporary folder of the process
(``assets.writable_cache``), used and not kept."""

from __future__ import annotations

import json
import platform
import re
import sys
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


def lookup(key: EngineKey, suffix: str) -> CachedEngine | None:
    """The cached engine for ``key``, or None when absent or damaged (then it is removed): from
    the cache (also one that cannot be written), else from this process's stand-in for it."""
    found = None
    for folder in dict.fromkeys(f for f in (cache_dir() / "engines", stand_in("engines")) if f is not None):
        found = found or _lookup_in(folder, key, suffix)
    return found


def _lookup_in(folder: Path, key: EngineKey, suffix: str) -> CachedEngine | None:
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
