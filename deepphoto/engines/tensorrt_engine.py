"""TensorRT backend: build a serialized engine ("plan") from ONNX, and run one.

Written against NVIDIA's documented Python API for TensorRT 8.2 (JetPack 4.6), 8.5/8.6 (JetPack 5/6)
and 10.x. Building uses one optimization profile; running uses the named-tensor API
(``set_input_shape`` / ``set_tensor_address`` / ``execute_async_v3``, TensorRT >= 8.5) and falls back
to bindings (``set_binding_shape`` / ``execute_async_v2``) where only those exist (TensorRT 8.2).
Device memory comes from :mod:`deepphoto.engines.cuda_memory` (cuda-python or PyCUDA).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from deepphoto.engines import cuda_memory
from deepphoto.engines.base import Engine, TensorInfo
from deepphoto.engines.models import Shapes
from deepphoto.errors import DeepPhotoError, option

PRECISIONS = ("fp32", "fp16", "int8")
# Per input name: (min, opt, max) shapes of the one optimization profile.


def import_tensorrt() -> Any:
    try:
        import tensorrt
    except ImportError:
        raise DeepPhotoError(
            "tensorrt is not installed: TensorRT comes with JetPack or NVIDIA's wheels; "
            f"use {option('backend', 'onnx')}"
        ) from None
    return tensorrt


def tensorrt_status() -> tuple[bool, str]:
    """(usable, reason): TensorRT importable and a CUDA device reachable through cuda-python or PyCUDA."""
    try:
        trt = import_tensorrt()
    except DeepPhotoError as exc:
        return False, str(exc)
    backend = cuda_memory.cuda_backend_name()
    if backend is None:
        return False, f"TensorRT {trt.__version__} found, but neither cuda-python nor pycuda is installed"
    try:
        count = cuda_memory.device_count()
        name = cuda_memory.device_name(0) if count else ""
    except Exception as exc:  # a missing driver surfaces as any of several error types
        return False, f"TensorRT {trt.__version__} found, but no usable CUDA device ({exc})"
    if not count:
        return False, f"TensorRT {trt.__version__} found, but the CUDA driver reports no device"
    return True, f"TensorRT {trt.__version__} with {backend} on {name}"


def trt_version() -> str:
    """TensorRT's version string (part of engine cache keys), '' when TensorRT is not installed."""
    try:
        return str(import_tensorrt().__version__)
    except DeepPhotoError:
        return ""


def device_name() -> str:
    """The GPU's name (part of engine cache keys: plans only run on the GPU model they were built for)."""
    return cuda_memory.device_name(0)


def _major(trt: Any) -> int:
    return int(str(trt.__version__).split(".")[0])


# TensorRT's tensor types by name (``trt.DataType.HALF.name == "HALF"``). Not ``trt.nptype``: in
# TensorRT 8.2 and 8.5 (JetPack 4.6 and 5) it builds a table holding ``np.bool``, which NumPy 1.24 to
# 1.26 do not have, so every call raised AttributeError and no engine could be opened.
_NUMPY_TYPES = {
    "FLOAT": np.float32,
    "HALF": np.float16,
    "INT8": np.int8,
    "UINT8": np.uint8,
    "INT32": np.int32,
    "INT64": np.int64,
    "BOOL": np.bool_,
}


def _numpy_dtype(trt: Any, dtype: Any) -> np.dtype:
    """The NumPy type of a TensorRT tensor type; a one-line error for one NumPy has none of (BF16, FP8)."""
    name = getattr(dtype, "name", None)
    if isinstance(name, str) and name.upper() in _NUMPY_TYPES:
        return np.dtype(_NUMPY_TYPES[name.upper()])
    try:
        return np.dtype(trt.nptype(dtype))
    except Exception:  # TypeError for types NumPy lacks; AttributeError from 8.x's table
        raise DeepPhotoError(f"the engine has a tensor of TensorRT type {dtype}, which NumPy cannot hold") from None


@cache
def _logger(trt: Any) -> Any:
    """One logger per process (TensorRT warns when builders and runtimes get different ones); also
    registers the bundled plugins, which TensorRT 8.2's ONNX parser uses for InstanceNormalization."""
    logger = trt.Logger(trt.Logger.WARNING)
    trt.init_libnvinfer_plugins(logger, "")
    return logger


# --------------------------------------------------------------------------------------------- build


def build_serialized_engine(
    onnx_path: Path,
    precision: str,
    shapes: Shapes,
    calibrator: object | None = None,
    workspace_mb: int = 1024,
) -> bytes:
    """The serialized engine for ``onnx_path``; ``shapes`` gives (min, opt, max) per dynamic input.

    ``int8`` takes either ``calibrator`` (an ``IInt8EntropyCalibrator2``, see
    :mod:`deepphoto.calibration.trt_calibrator`) or an explicitly quantized (QDQ) ONNX.
    Layers left in float (instance norm, resizes) run in FP16 there.
    """
    if precision not in PRECISIONS:
        raise DeepPhotoError(f"unknown precision {precision!r}: choose from {', '.join(PRECISIONS)}")
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise DeepPhotoError(f"{onnx_path}: ONNX model not found")
    trt = import_tensorrt()
    logger = _logger(trt)
    builder = trt.Builder(logger)
    # Explicit batch is required for ONNX on 8.x; on 10.x it is the only mode and the flag is deprecated.
    flags = 0 if _major(trt) >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes(), str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i).desc()) for i in range(parser.num_errors))
        raise DeepPhotoError(f"{onnx_path}: TensorRT's ONNX parser failed: {errors or 'no details given'}")

    config = builder.create_builder_config()
    if hasattr(config, "set_memory_pool_limit"):  # TensorRT >= 8.4
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    else:  # TensorRT 8.2 (JetPack 4.6)
        config.max_workspace_size = workspace_mb << 20
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    config.add_optimization_profile(_profile(builder, inputs, shapes))
    _set_precision(trt, builder, network, config, precision, calibrator, inputs, shapes)

    plan = builder.build_serialized_network(network, config)
    failure = getattr(calibrator, "error", None)
    if failure is not None:
        raise DeepPhotoError(f"INT8 calibration failed: {failure}")
    if plan is None:
        raise DeepPhotoError(
            f"TensorRT could not build an engine from {onnx_path.name} ({precision}); its messages above say why"
        )
    return bytes(plan)


def _profile(builder: Any, inputs: list[Any], shapes: Shapes) -> Any:
    names = [t.name for t in inputs]
    unknown = sorted(set(shapes) - set(names))
    if unknown:
        raise DeepPhotoError(f"shapes given for {', '.join(unknown)}, but the network's inputs are {', '.join(names)}")
    profile = builder.create_optimization_profile()
    for tensor in inputs:
        declared = tuple(tensor.shape)
        if tensor.name not in shapes:
            if any(d < 0 for d in declared):
                raise DeepPhotoError(f"input {tensor.name!r} {declared} is dynamic: give its min/opt/max shapes")
            continue
        low, opt, high = (tuple(int(d) for d in s) for s in shapes[tensor.name])
        if not len(low) == len(opt) == len(high) == len(declared):
            raise DeepPhotoError(f"input {tensor.name!r}: shapes must have {len(declared)} dimensions")
        if not all(a <= b <= c for a, b, c in zip(low, opt, high)):
            raise DeepPhotoError(f"input {tensor.name!r}: need min <= opt <= max, got {low}, {opt}, {high}")
        profile.set_shape(tensor.name, low, opt, high)
    return profile


def _set_precision(
    trt: Any,
    builder: Any,
    network: Any,
    config: Any,
    precision: str,
    calibrator: object | None,
    inputs: list[Any],
    shapes: Shapes,
) -> None:
    if precision == "fp32":
        return
    if precision == "fp16" and not builder.platform_has_fast_fp16:
        raise DeepPhotoError(f"this GPU has no fast FP16: use {option('precision', 'fp32')}")
    if precision == "int8":
        if not builder.platform_has_fast_int8:
            raise DeepPhotoError(
                f"this GPU has no fast INT8 (Jetson Nano's Maxwell GPU has none): use {option('precision', 'fp16')}"
            )
        config.set_flag(trt.BuilderFlag.INT8)
        if calibrator is not None:
            _set_calibrator(builder, config, calibrator, inputs, shapes)
        elif not _is_explicitly_quantized(trt, network):
            raise DeepPhotoError("INT8 needs calibration frames or an ONNX with QuantizeLinear/DequantizeLinear nodes")
    if builder.platform_has_fast_fp16:  # INT8 engines: what stays unquantized runs in FP16, not FP32
        config.set_flag(trt.BuilderFlag.FP16)


def _set_calibrator(builder: Any, config: Any, calibrator: object, inputs: list[Any], shapes: Shapes) -> None:
    fed = getattr(calibrator, "shapes", None)  # input name -> calibration batch shape, where known
    missing = [t.name for t in inputs if fed and t.name not in fed]
    if missing:
        raise DeepPhotoError(
            f"INT8 calibration feeds {', '.join(fed)}, but the network also takes {', '.join(missing)}"
        )
    config.int8_calibrator = calibrator
    # Dynamic inputs are calibrated at one fixed shape: the calibration batches' own where known.
    dynamic = [t for t in inputs if any(d < 0 for d in tuple(t.shape))]
    if dynamic and hasattr(config, "set_calibration_profile"):
        profile = builder.create_optimization_profile()
        for tensor in dynamic:
            shape = tuple(fed[tensor.name]) if fed else tuple(shapes[tensor.name][1])
            profile.set_shape(tensor.name, shape, shape, shape)
        config.set_calibration_profile(profile)


def _is_explicitly_quantized(trt: Any, network: Any) -> bool:
    kinds = (trt.LayerType.QUANTIZE, trt.LayerType.DEQUANTIZE)
    return any(network.get_layer(i).type in kinds for i in range(network.num_layers))


# ----------------------------------------------------------------------------------------------- run


class _NamedTensors:
    """TensorRT >= 8.5: tensors addressed by name, ``execute_async_v3``."""

    def __init__(self, trt: Any, engine: Any, context: Any) -> None:
        self.engine, self.context = engine, context
        self.tensors = []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            dtype = _numpy_dtype(trt, engine.get_tensor_dtype(name))
            self.tensors.append((name, is_input, tuple(engine.get_tensor_shape(name)), dtype))

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        return bool(self.context.set_input_shape(name, shape))

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.context.get_tensor_shape(name))

    def bind(self, name: str, ptr: int) -> None:
        self.context.set_tensor_address(name, ptr)

    def execute(self, stream_handle: int) -> bool:
        return bool(self.context.execute_async_v3(stream_handle))


class _Bindings:
    """TensorRT 8.2: tensors addressed by binding index, ``execute_async_v2``."""

    def __init__(self, trt: Any, engine: Any, context: Any) -> None:
        self.engine, self.context = engine, context
        self.tensors = []
        self.index: dict[str, int] = {}
        for i in range(engine.num_bindings):
            name = engine.get_binding_name(i)
            dtype = _numpy_dtype(trt, engine.get_binding_dtype(i))
            self.tensors.append((name, engine.binding_is_input(i), tuple(engine.get_binding_shape(i)), dtype))
            self.index[name] = i
        self.pointers = [0] * engine.num_bindings

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        return bool(self.context.set_binding_shape(self.index[name], shape))

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.context.get_binding_shape(self.index[name]))

    def bind(self, name: str, ptr: int) -> None:
        self.pointers[self.index[name]] = ptr

    def execute(self, stream_handle: int) -> bool:
        return bool(self.context.execute_async_v2(self.pointers, stream_handle))


def _axes(shape: tuple[int, ...]) -> tuple[int | str, ...]:
    return tuple(d if d >= 0 else "?" for d in shape)


class TensorRTEngine(Engine):
    """A deserialized plan with its execution context, stream and (growing) device buffers."""

    name = "tensorrt"
    device = "cuda"

    def __init__(self, plan: bytes) -> None:
        trt = import_tensorrt()
        self._runtime = trt.Runtime(_logger(trt))  # kept: the engine must not outlive its runtime
        self._engine = self._runtime.deserialize_cuda_engine(bytes(plan))
        if self._engine is None:
            raise DeepPhotoError(
                "TensorRT engine could not be loaded: damaged or built by another TensorRT version/device; rebuild it"
            )
        self._context = self._engine.create_execution_context()
        if self._context is None:
            raise DeepPhotoError("TensorRT could not create an execution context (out of GPU memory?)")
        named = hasattr(self._engine, "num_io_tensors") and hasattr(self._context, "execute_async_v3")
        self._io = (_NamedTensors if named else _Bindings)(trt, self._engine, self._context)
        self._inputs = [t for t in self._io.tensors if t[1]]
        self._outputs = [t for t in self._io.tensors if not t[1]]
        self._stream = cuda_memory.Stream()
        self._buffers: dict[str, cuda_memory.DeviceBuffer] = {}

    @property
    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(n, _axes(s), d.name) for n, _, s, d in self._inputs]

    @property
    def outputs(self) -> list[TensorInfo]:
        return [TensorInfo(n, _axes(s), d.name) for n, _, s, d in self._outputs]

    def _buffer(self, name: str, nbytes: int) -> cuda_memory.DeviceBuffer:
        """The tensor's device buffer, reallocated only when a larger shape needs more bytes."""
        buf = self._buffers.get(name)
        if buf is None or buf.nbytes < nbytes:
            if buf is not None:
                buf.free()
            buf = self._buffers[name] = cuda_memory.DeviceBuffer(max(nbytes, 1))
            self._io.bind(name, buf.ptr)
        return buf

    def run(self, *inputs: np.ndarray) -> np.ndarray:
        if len(inputs) != len(self._inputs):
            names = ", ".join(t[0] for t in self._inputs)
            raise DeepPhotoError(f"the engine takes {len(self._inputs)} inputs ({names}), got {len(inputs)}")
        hosts = []  # kept alive until the stream is synchronized
        for (name, _, declared, dtype), x in zip(self._inputs, inputs):
            host = np.ascontiguousarray(x, dtype=dtype)
            if any(d < 0 for d in declared) and not self._io.set_input_shape(name, host.shape):
                raise DeepPhotoError(
                    f"input {name!r} shape {host.shape} is outside the engine's optimization profile; "
                    "rebuild the engine for this size"
                )
            self._buffer(name, host.nbytes).copy_from(host, self._stream)
            hosts.append(host)
        results = []
        for name, _, _, dtype in self._outputs:
            shape = self._io.shape(name)
            if any(d < 0 for d in shape):
                raise DeepPhotoError(f"TensorRT left output {name!r} shape {shape} unresolved")
            results.append(np.empty(shape, dtype))
            self._buffer(name, results[-1].nbytes)
        if not self._io.execute(self._stream.handle):
            raise DeepPhotoError("TensorRT inference failed (see its messages above)")
        self._buffers[self._outputs[0][0]].copy_to(results[0], self._stream)
        self._stream.synchronize()
        return results[0].astype(np.float32, copy=False)

    def close(self) -> None:
        """Free the device buffers and the stream (the engine is unusable afterwards)."""
        for buf in self._buffers.values():
            buf.free()
        self._buffers.clear()
        self._stream.close()
