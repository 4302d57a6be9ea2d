"""Device buffers and a CUDA stream for the TensorRT backend, through whichever binding is installed.

- cuda-python (``cuda.bindings.runtime``, formerly ``cuda.cudart``): desktops and JetPack 6, CUDA 12.
- PyCUDA: JetPack 4.6 / 5, where cuda-python for the device's CUDA is not available. PyCUDA works on
  the device's *primary* context, the one the CUDA runtime (and so TensorRT) uses, pushed around
  every call so that any thread may call in.

Every CUDA error becomes a :class:`~deepphoto.errors.DeepPhotoError` naming the call and the error.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from deepphoto.errors import DeepPhotoError


class _Backend(Protocol):
    """The few CUDA calls the backend needs: allocate, free, copy, streams, device queries."""

    name: str

    def malloc(self, nbytes: int) -> tuple[int, Any]: ...  # (pointer, handle to free)
    def free(self, handle: Any) -> None: ...
    def htod(self, ptr: int, host: np.ndarray, stream: Any) -> None: ...
    def dtoh(self, host: np.ndarray, ptr: int, stream: Any) -> None: ...
    def stream_create(self) -> tuple[Any, int]: ...  # (stream object, raw handle for TensorRT)
    def stream_sync(self, stream: Any) -> None: ...
    def stream_destroy(self, stream: Any) -> None: ...
    def device_count(self) -> int: ...
    def device_name(self, index: int) -> str: ...


class _CudaPython:
    """The CUDA runtime API through cuda-python: every call returns ``(error, *values)``."""

    name = "cuda-python"

    def __init__(self, cudart: Any) -> None:
        self.rt = cudart

    def _check(self, result: Any, call: str) -> Any:
        err, *values = result if isinstance(result, tuple) else (result,)
        if err != self.rt.cudaError_t.cudaSuccess:
            name = str(getattr(err, "name", err))
            hint = self._driver_hint() if name == "cudaErrorInsufficientDriver" else ""
            raise DeepPhotoError(f"CUDA {call} failed: {name}{hint}")
        return values[0] if len(values) == 1 else values

    def _driver_hint(self) -> str:
        """What to do when cuda-python's CUDA runtime is newer than the driver (cuda-python 13 on a
        CUDA 12 driver: JetPack 6, an older desktop driver)."""
        try:
            from importlib.metadata import version

            installed = f"cuda-python {version('cuda-python')}"
        except Exception:  # the bindings without the meta-package, or no metadata
            installed = "this cuda-python"
        try:
            err, found = self.rt.cudaDriverGetVersion()
            known = err == self.rt.cudaError_t.cudaSuccess
        except Exception:
            known, found = False, 0
        if known and not found:  # what the runtime reports where no NVIDIA driver is loaded
            return " (no NVIDIA driver is loaded)"
        driver = f"{found // 1000}.{found % 1000 // 10}" if known else ""
        if not driver:
            return f" ({installed} needs a newer NVIDIA driver; or install pycuda instead)"
        return (
            f" ({installed} is built for a newer CUDA than this driver's {driver}: "
            f"pip install 'cuda-python=={driver}.*', or pycuda)"
        )

    def malloc(self, nbytes: int) -> tuple[int, Any]:
        ptr = int(self._check(self.rt.cudaMalloc(nbytes), "cudaMalloc"))
        return ptr, ptr

    def free(self, handle: Any) -> None:
        self._check(self.rt.cudaFree(handle), "cudaFree")

    def _copy(self, dst: int, src: int, nbytes: int, kind: Any, stream: Any) -> None:
        if stream is None:
            self._check(self.rt.cudaMemcpy(dst, src, nbytes, kind), "cudaMemcpy")
        else:
            self._check(self.rt.cudaMemcpyAsync(dst, src, nbytes, kind, stream), "cudaMemcpyAsync")

    def htod(self, ptr: int, host: np.ndarray, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._copy(ptr, host.ctypes.data, host.nbytes, kind, stream)

    def dtoh(self, host: np.ndarray, ptr: int, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._copy(host.ctypes.data, ptr, host.nbytes, kind, stream)

    def stream_create(self) -> tuple[Any, int]:
        stream = self._check(self.rt.cudaStreamCreate(), "cudaStreamCreate")
        return stream, int(stream)

    def stream_sync(self, stream: Any) -> None:
        self._check(self.rt.cudaStreamSynchronize(stream), "cudaStreamSynchronize")

    def stream_destroy(self, stream: Any) -> None:
        self._check(self.rt.cudaStreamDestroy(stream), "cudaStreamDestroy")

    def device_count(self) -> int:
        return int(self._check(self.rt.cudaGetDeviceCount(), "cudaGetDeviceCount"))

    def device_name(self, index: int) -> str:
        name = self._check(self.rt.cudaGetDeviceProperties(index), "cudaGetDeviceProperties").name
        if isinstance(name, bytes):
            name = name.split(b"\0", 1)[0].decode(errors="replace")
        return str(name).strip()


class _PyCuda:
    """PyCUDA's driver API on the primary context (retained once, pushed per call)."""

    name = "pycuda"

    def __init__(self, driver: Any) -> None:
        self.drv = driver
        self._ctx: Any = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _active(self, call: str) -> Iterator[None]:
        try:
            with self._lock:
                if self._ctx is None:
                    self.drv.init()
                    self._ctx = self.drv.Device(0).retain_primary_context()
            self._ctx.push()
        except self.drv.Error as exc:
            raise DeepPhotoError(f"CUDA (PyCUDA) {call} failed: {exc}") from None
        try:
            yield
        except self.drv.Error as exc:
            raise DeepPhotoError(f"CUDA (PyCUDA) {call} failed: {exc}") from None
        finally:
            self.drv.Context.pop()

    def malloc(self, nbytes: int) -> tuple[int, Any]:
        with self._active("mem_alloc"):
            alloc = self.drv.mem_alloc(nbytes)
        return int(alloc), alloc

    def free(self, handle: Any) -> None:
        with self._active("free"):
            handle.free()

    def htod(self, ptr: int, host: np.ndarray, stream: Any) -> None:
        with self._active("memcpy_htod"):
            if stream is None:
                self.drv.memcpy_htod(ptr, host)
            else:
                self.drv.memcpy_htod_async(ptr, host, stream)

    def dtoh(self, host: np.ndarray, ptr: int, stream: Any) -> None:
        with self._active("memcpy_dtoh"):
            if stream is None:
                self.drv.memcpy_dtoh(host, ptr)
            else:
                self.drv.memcpy_dtoh_async(host, ptr, stream)

    def stream_create(self) -> tuple[Any, int]:
        with self._active("Stream"):
            stream = self.drv.Stream()
        return stream, int(stream.handle)

    def stream_sync(self, stream: Any) -> None:
        with self._active("Stream.synchronize"):
            stream.synchronize()

    def stream_destroy(self, stream: Any) -> None:
        return None  # PyCUDA destroys the stream with the object

    def device_count(self) -> int:
        try:
            self.drv.init()
            return int(self.drv.Device.count())
        except self.drv.Error as exc:
            raise DeepPhotoError(f"CUDA (PyCUDA) init failed: {exc}") from None

    def device_name(self, index: int) -> str:
        with self._active("Device.name"):
            return str(self.drv.Device(index).name())


def _import_cudart() -> Any:
    try:
        from cuda.bindings import runtime  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart as runtime  # older cuda-python
        except ImportError:
            return None
    return runtime


def _import_pycuda() -> Any:
    try:
        import pycuda.driver as driver
    except ImportError:
        return None
    return driver


@lru_cache(maxsize=1)
def backend() -> _Backend | None:
    """cuda-python where installed and able to reach the GPU, else PyCUDA, else None. Chosen once
    per process. A cuda-python that cannot reach the GPU (one built for a newer CUDA than the
    driver's, as cuda-python 13 on JetPack 6's CUDA 12, or PyPI's server-ARM build on a Jetson)
    is passed over for PyCUDA where that is installed, rather than leaving TensorRT unusable."""
    cudart, driver = _import_cudart(), _import_pycuda()
    found: list[_Backend] = []
    if cudart is not None:
        found.append(_CudaPython(cudart))
    if driver is not None:
        found.append(_PyCuda(driver))
    for candidate in found[:-1]:
        try:
            candidate.device_count()
        except Exception:  # DeepPhotoError from the runtime, or a library that would not load
            continue
        return candidate
    return found[-1] if found else None


def cuda_backend_name() -> str | None:
    """'cuda-python', 'pycuda', or None when neither is installed."""
    found = backend()
    return found.name if found else None


def require_backend() -> _Backend:
    found = backend()
    if found is None:
        raise DeepPhotoError(
            "the TensorRT backend needs cuda-python (pip install -e '.[trt]') or, on JetPack 4/5, pycuda"
        )
    return found


def device_count() -> int:
    """How many CUDA devices the driver reports (raises DeepPhotoError when the driver is unusable)."""
    return require_backend().device_count()


def device_name(index: int = 0) -> str:
    """The GPU's name, e.g. 'NVIDIA Tegra X1' or 'Orin'."""
    return require_backend().device_name(index)


class Stream:
    """One CUDA stream; ``handle`` is the raw ``cudaStream_t`` TensorRT takes."""

    def __init__(self, cuda: _Backend | None = None) -> None:
        self.cuda = cuda or require_backend()
        self.stream, self.handle = self.cuda.stream_create()

    def synchronize(self) -> None:
        self.cuda.stream_sync(self.stream)

    def close(self) -> None:
        if self.stream is not None:
            self.cuda.stream_destroy(self.stream)
            self.stream = None


class DeviceBuffer:
    """``nbytes`` of device memory at ``ptr``. ``stream=None`` copies synchronously."""

    def __init__(self, nbytes: int, cuda: _Backend | None = None) -> None:
        if nbytes <= 0:
            raise DeepPhotoError(f"device buffer of {nbytes} bytes")
        self.cuda = cuda or require_backend()
        self.nbytes = int(nbytes)
        self.ptr, self._handle = self.cuda.malloc(self.nbytes)

    def _fits(self, host: np.ndarray) -> np.ndarray:
        if host.nbytes > self.nbytes:
            raise DeepPhotoError(f"{host.nbytes} bytes do not fit a {self.nbytes}-byte device buffer")
        return host

    def copy_from(self, host: np.ndarray, stream: Stream | None = None) -> None:
        """Host -> device. ``host`` must stay alive until ``stream`` is synchronized."""
        host = self._fits(np.ascontiguousarray(host))
        self.cuda.htod(self.ptr, host, stream.stream if stream else None)

    def copy_to(self, host: np.ndarray, stream: Stream | None = None) -> None:
        """Device -> host into the C-contiguous array ``host`` (complete after ``stream.synchronize()``)."""
        if not host.flags.c_contiguous:
            raise DeepPhotoError("copy_to needs a C-contiguous host array")
        self.cuda.dtoh(self._fits(host), self.ptr, stream.stream if stream else None)

    def free(self) -> None:
        """Release the memory; safe to call twice."""
        if self._handle is not None:
            handle, self._handle, self.ptr = self._handle, None, 0
            self.cuda.free(handle)
