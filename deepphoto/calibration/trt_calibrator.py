"""TensorRT's INT8 entropy calibrator over the shared calibration source.

TensorRT calls ``get_batch`` from inside ``build_serialized_network``; an exception raised there
cannot cross back through TensorRT, so a failure is kept in ``.error``, calibration is ended, and
:func:`deepphoto.engines.tensorrt_engine.build_serialized_engine` raises it once the build returns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from deepphoto.calibration.source import Batch
from deepphoto.engines import cuda_memory
from deepphoto.engines.tensorrt_engine import import_tensorrt
from deepphoto.errors import DeepPhotoError

# nbytes -> device buffer with ``ptr``, ``copy_from(host)`` and ``free()``; tests pass a host-memory fake.
Allocate = Callable[[int], Any]


def make_entropy_calibrator(
    frames: Iterable[Batch],
    cache_path: Path,
    input_name: str = "rgb",
    allocate: Allocate | None = None,
) -> Any:
    """A ``trt.IInt8EntropyCalibrator2`` feeding ``frames`` to the network, one batch per item.

    An item is an (N, 3, H, W) float32 array for ``input_name`` (as :class:`CalibrationFrames`
    yields), or a dict of arrays by input name. A calibration cache at ``cache_path`` is read back,
    so rebuilding skips calibration; delete it when the network or the calibration data change.
    """
    trt = import_tensorrt()
    cls = _calibrator_class(trt.IInt8EntropyCalibrator2)
    return cls(frames, Path(cache_path), input_name, allocate or cuda_memory.DeviceBuffer)


@cache
def _calibrator_class(base: type) -> type:
    """The subclass of TensorRT's calibrator interface, defined once per TensorRT module."""

    class EntropyCalibrator(base):  # type: ignore[misc, valid-type]
        def __init__(self, frames: Iterable[Batch], cache_path: Path, input_name: str, allocate: Allocate) -> None:
            base.__init__(self)  # the bindings need the base initialised explicitly
            self.cache_path, self.input_name, self.allocate = cache_path, input_name, allocate
            self.fed = 0
            self.error: str | None = None
            self._buffers: dict[str, Any] = {}
            self._frames = iter(frames)
            # The first batch fixes batch size and shapes (and so the calibration profile) before TensorRT asks.
            self._next = self._take()
            self.shapes = {name: x.shape for name, x in (self._next or {}).items()}
            if self._next is None and not cache_path.is_file():
                raise DeepPhotoError("no calibration frames (and no calibration cache): INT8 needs some")

        @property
        def shape(self) -> tuple[int, ...] | None:
            return self.shapes.get(self.input_name)

        def _take(self) -> dict[str, np.ndarray] | None:
            feed = next(self._frames, None)
            if feed is None:
                return None
            if isinstance(feed, np.ndarray):
                feed = {self.input_name: feed}
            return {name: np.ascontiguousarray(x, dtype=np.float32) for name, x in feed.items()}

        def get_batch_size(self) -> int:
            return int(next(iter(self.shapes.values()))[0]) if self.shapes else 1

        def get_batch(self, names: list[str]) -> list[int] | None:
            try:
                feed, self._next = self._next, (self._take() if self._next is not None else None)
                if feed is None:
                    self.close()
                    return None
                if sorted(names) != sorted(feed):
                    raise DeepPhotoError(f"calibration feeds {', '.join(feed)}; TensorRT asked for {', '.join(names)}")
                pointers = []
                for name in names:
                    x = feed[name]
                    if x.shape != self.shapes[name]:
                        raise DeepPhotoError(
                            f"calibration {name} {x.shape} differs from the first, {self.shapes[name]}"
                        )
                    if name not in self._buffers:
                        self._buffers[name] = self.allocate(x.nbytes)
                    self._buffers[name].copy_from(x)
                    pointers.append(int(self._buffers[name].ptr))
                self.fed += 1
                return pointers
            except Exception as exc:  # must not propagate into TensorRT
                self.error = str(exc)
                self.close()
                return None

        def read_calibration_cache(self) -> bytes | None:
            return self.cache_path.read_bytes() if self.cache_path.is_file() else None

        def write_calibration_cache(self, cache: Any) -> None:
            try:
                _write_atomically(self.cache_path, bytes(cache))
            except OSError as exc:
                self.error = f"cannot write the calibration cache {self.cache_path}: {exc}"

        def close(self) -> None:
            """Free the device buffers (done by itself when the frames run out)."""
            for buf in self._buffers.values():
                buf.free()
            self._buffers.clear()

    return EntropyCalibrator


def _write_atomically(path: Path, data: bytes) -> None:
    """``data`` into ``path`` through a temporary file beside it, made as any file of the user's
    (readable as the engine cache's other files are: a temporary file's own mode is 0600)."""
    from deepphoto.stream.output_safety import temporary_name

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
