"""Open a network on a backend at a precision: reduced-precision engines are built once (calibrated,
gated against float, timed), cached, and reused; ``auto`` picks for this machine and says what."""

from __future__ import annotations

import contextlib
import hashlib
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from deepphoto.calibration.source import CalibrationFrames
from deepphoto.engines.base import BACKENDS, PRECISIONS, Engine
from deepphoto.engines.cache import (
    CachedEngine,
    EngineKey,
    cpu_name,
    engine_cache_writable,
    engine_dir,
    key_lock,
    lookup,
    store,
    temporary_path,
)
from deepphoto.engines.gates import GateResult, compare_ms, lightnet_gate, style_gate
from deepphoto.engines.models import ModelSpec, model_spec, shared_data
from deepphoto.errors import DeepPhotoError, option
from deepphoto.stream.output_safety import discard, disk_free, temporary_name

CALIBRATION_FRAMES = 64
_QUANTIZER_LOCK = threading.Lock()
BUILD_RECIPE = "4"  # bump when quantization settings, op lists or gates change: old engines rebuild
GATE_FRAMES = 8  # style gate and the label-free LightNet gate: frames never used for calibration
T = TypeVar("T")


def say(text: str) -> None:
    print(f"deepphoto: {text}", file=sys.stderr)


# ---------------------------------------------------------------- which backend runs here


def cuda_for_torch() -> bool:
    """Whether PyTorch can use a CUDA GPU here. Importing torch takes seconds, so it is imported
    only where it is installed and an NVIDIA driver is present."""
    import importlib.util
    import os

    if importlib.util.find_spec("torch") is None or not os.path.exists("/proc/driver/nvidia/version"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def ort_has_cuda() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


def auto_backends() -> list[str]:
    """Backends to try, fastest first: TensorRT; PyTorch CUDA (half precision, CUDA graphs); ONNX
    Runtime (CUDA provider where installed, else its CPU kernels, faster than PyTorch's on CPUs)."""
    from deepphoto.engines.tensorrt_engine import tensorrt_status

    order = ["tensorrt"] if tensorrt_status()[0] else []
    if cuda_for_torch() and not ort_has_cuda():
        order.append("torch")
    order.append("onnx")
    if "torch" not in order:
        order.append("torch")
    return order


def check_choice(backend: str, precision: str) -> None:
    if backend not in BACKENDS:
        raise DeepPhotoError(f"unknown backend {backend!r}: choose from {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise DeepPhotoError(f"unknown precision {precision!r}: choose from {', '.join(PRECISIONS)}")


# ---------------------------------------------------------------- opening an engine


def open_engine(
    model: str,
    backend: str = "onnx",
    precision: str = "fp32",
    weights: Path | None = None,
    threads: int | None = None,
    spin: bool = True,
    calib: Path | None = None,
) -> Engine:
    """The network ``model`` on ``backend`` at ``precision`` (``auto`` for either: the best that
    works here, announced on stderr). Reduced precisions are built on first use and cached."""
    check_choice(backend, precision)
    if backend != "auto":
        return _open(model, backend, precision, weights, threads, spin, calib)
    failures = []
    for candidate in auto_backends():
        try:
            engine = _open(model, candidate, precision, weights, threads, spin, calib)
        except DeepPhotoError as exc:
            failures.append(f"{candidate}: {exc}")
            continue
        say(f"{model}: backend auto -> {describe(engine)}")
        return engine
    raise DeepPhotoError(f"no backend could run {model}: " + "; ".join(failures))


def describe(engine: Engine) -> str:
    return f"{engine.name} ({engine.device}, {engine.precision})"


def _open(
    model: str,
    backend: str,
    precision: str,
    weights: Path | None,
    threads: int | None,
    spin: bool,
    calib: Path | None,
) -> Engine:
    spec = model_spec(model, weights)
    if backend == "torch":
        return _open_torch(spec, precision, weights, threads)
    if backend == "onnx":
        gpu = ort_has_cuda()
        if precision == "auto":
            precision = "fp16" if gpu else _cpu_winner(spec, weights, calib)
        return _open_onnx(spec, precision, weights, threads, spin, calib, gpu)
    if backend == "tensorrt":
        return _open_tensorrt(spec, precision, weights, calib)
    raise DeepPhotoError(f"unknown backend {backend!r}: choose from {', '.join(BACKENDS)}")


def _cpu_winner(spec: ModelSpec, weights: Path | None, calib: Path | None) -> str:
    """INT8 where it passed its gate and ran clearly faster than float when built, else fp32."""
    try:  # a build takes minutes: only where it is kept (an unwritable cache would build it every run)
        info = build(spec, "onnx", "int8", weights, calib, uncached=False).info
    except DeepPhotoError as exc:
        say(f"{spec.name}: no INT8 engine ({exc}); running fp32")
        return "fp32"
    return cpu_auto_precision(info)


# INT8 costs accuracy (LightNet -0.16 IoU points, StyleNet about 37 dB against float), so it is
# run only where it is clearly faster: a tie timed on a busy machine (StyleNet's INT8 and float
# time within a few per cent of each other, either way from one build to the next) keeps float.
INT8_MARGIN = 1.1


def cpu_auto_precision(info: dict) -> str:
    """What ``--precision auto`` runs on a CPU, from an INT8 build's record: INT8 where it passed
    its gate and ran at least ``INT8_MARGIN`` times as fast as float when built, else fp32."""
    return "int8" if info.get("use") == "int8" and info.get("speedup", 0) >= INT8_MARGIN else "fp32"


def _open_torch(spec: ModelSpec, precision: str, weights: Path | None, threads: int | None) -> Engine:
    from deepphoto.engines.torch_engine import TorchEngine

    cuda = cuda_for_torch()
    if precision == "auto":
        precision = "fp16" if cuda else "fp32"
    if precision == "int8":
        raise DeepPhotoError(
            f"INT8 runs in ONNX Runtime or TensorRT: use {option('backend', 'onnx')} or {option('backend', 'tensorrt')}"
        )
    if precision == "fp16" and not cuda:
        raise DeepPhotoError(f"fp16 with PyTorch needs a CUDA GPU: use {option('precision', 'fp32')} on the CPU")
    return TorchEngine(
        spec.torch_module(weights),
        spec.input_names,
        spec.output_name,
        device="cuda" if cuda else "cpu",
        threads=threads,
        half=precision == "fp16",
    )


def _open_onnx(
    spec: ModelSpec,
    precision: str,
    weights: Path | None,
    threads: int | None,
    spin: bool,
    calib: Path | None,
    gpu: bool,
) -> Engine:
    from deepphoto.engines.onnx_engine import OnnxEngine

    path, used = spec.float_onnx(weights), "fp32"
    if precision in ("fp16", "int8"):  # build() refuses fp16 without the CUDA provider
        built = build(spec, "onnx", precision, weights, calib)
        if built.info.get("use") == precision:
            path, used = built.path, precision
        else:
            say(f"{spec.name}: {precision} failed its accuracy gate when built ({built.info['gate']}); running fp32")
    engine = OnnxEngine(path, threads=threads, providers=_ort_providers(), spin=spin)
    engine.precision, engine.device = used, "cuda" if gpu else "cpu"
    return engine


def require_tensorrt() -> None:
    """A one-line error naming what is missing when TensorRT cannot run on this machine."""
    from deepphoto.engines.tensorrt_engine import tensorrt_status

    usable, why = tensorrt_status()
    if not usable:
        raise DeepPhotoError(f"TensorRT cannot run here: {why}")


def _open_tensorrt(spec: ModelSpec, precision: str, weights: Path | None, calib: Path | None) -> Engine:
    from deepphoto.engines.tensorrt_engine import TensorRTEngine

    require_tensorrt()
    if precision == "auto":
        precision = "int8" if _fast_int8() else "fp16"
    # A precision that fails its gate falls back a step: int8 -> fp16 -> fp32.
    chain = {"int8": ["int8", "fp16", "fp32"], "fp16": ["fp16", "fp32"], "fp32": ["fp32"]}[precision]
    for step in chain:
        built = build(spec, "tensorrt", step, weights, calib)
        if built.info.get("use") == step:
            break
        say(f"{spec.name}: TensorRT {step} failed its accuracy gate ({built.info['gate']}); trying the next precision")
    engine = TensorRTEngine(built.path.read_bytes())
    engine.precision = step
    return engine


def _fast_int8() -> bool:
    import tensorrt as trt

    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    return bool(builder.platform_has_fast_int8)


# ---------------------------------------------------------------- building


@dataclass
class BuildContext:
    spec: ModelSpec
    backend: str
    precision: str
    weights: Path | None
    calib: Path


def default_calibration() -> Path:
    """Training portraits of the shared data set where present (validation files are skipped),
    else the demo footage every installation has."""
    portraits = shared_data() / "seg" / "portraits" / "images"
    if portraits.is_dir():
        return portraits
    from deepphoto.assets import demo_clip

    return demo_clip()


def engine_key(spec: ModelSpec, backend: str, precision: str, weights: Path | None) -> EngineKey:
    from deepphoto.assets import sha256_of

    if backend == "tensorrt":
        from deepphoto.engines.tensorrt_engine import device_name, trt_version

        version, device = f"trt{trt_version()}", device_name()
    else:
        import onnxruntime as ort

        version = f"ort{ort.__version__}"
        from deepphoto.engines.quantize import cpu_has_vnni

        device = "cuda" if ort_has_cuda() else cpu_name() + (" vnni" if cpu_has_vnni() else " no-vnni")
    model_hash = sha256_of(spec.float_onnx(weights))
    return EngineKey(spec.name, model_hash, backend, version, device, precision, f"r{BUILD_RECIPE}")


def build(
    spec: ModelSpec,
    backend: str,
    precision: str,
    weights: Path | None = None,
    calib: Path | None = None,
    force: bool = False,
    uncached: bool = True,
) -> CachedEngine:
    """The cached engine, built (and gated) first when missing, damaged, stale, ``force``d, or
    when ``calib`` names another calibration source than the cached engine's. When the cache
    cannot be written the engine is built for this process only (``uncached``), else refused."""
    key = engine_key(spec, backend, precision, weights)
    suffix = ".plan" if backend == "tensorrt" else ".onnx"
    cached = None if force else lookup(key, suffix)
    if cached is not None and (calib is None or cached.info.get("calibration") == str(calib)):
        return cached
    if not uncached and not engine_cache_writable():
        raise DeepPhotoError("the engine cache cannot be written, so a build would not be kept")
    if backend == "onnx" and precision == "fp16" and not ort_has_cuda():
        raise DeepPhotoError("fp16 with ONNX Runtime needs its CUDA provider (onnxruntime-gpu): use fp32 or int8")
    if precision == "fp32" and backend == "onnx":
        raise DeepPhotoError("fp32 needs no build: ONNX Runtime runs the exported ONNX file as it is")
    ctx = BuildContext(spec, backend, precision, weights, Path(calib) if calib else default_calibration())
    check_room(spec, precision, backend, weights)
    try:
        tmp = temporary_path(key, suffix)  # the cache folder made: the key's lock is taken in it
    except OSError as exc:  # a full disk, no more files: auto runs float instead of stopping the run
        raise DeepPhotoError(
            f"building {spec.name} {precision} for {backend} failed ({exc.filename}: {exc.strerror or exc})"
        ) from None
    # one builder of an engine at a time: a second run started meanwhile waits, then uses its engine
    with key_lock(tmp.parent, key):
        again = None if force else lookup(key, suffix, locked=True)
        if again is not None and (calib is None or again.info.get("calibration") == str(calib)):
            return again
        return _build_and_store(ctx, key, suffix, tmp)


def _build_and_store(ctx: BuildContext, key: EngineKey, suffix: str, tmp: Path) -> CachedEngine:
    """Build the engine of ``key`` into ``tmp`` and store it (the caller holds its lock)."""
    spec, precision, backend = ctx.spec, ctx.precision, ctx.backend
    say(f"building {spec.name} {precision} for {backend} (once; cached as {key.stem}{suffix})")
    try:
        return store(key, suffix, tmp, _build_into(ctx, key, tmp))
    except DeepPhotoError:
        raise
    except Exception as exc:  # quantizer / TensorRT failures: one line, and auto can fall back
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        raise DeepPhotoError(f"building {spec.name} {precision} for {backend} failed ({detail})") from None
    finally:
        for leftover in tmp.parent.glob(f"{tmp.name}*"):  # the temporary file and its companions
            leftover.unlink(missing_ok=True)


def check_room(spec: ModelSpec, precision: str, backend: str, weights: Path | None) -> None:
    """A one-line error, before any work, when the engine cache's disk has less room than the float
    model takes (an engine takes less): a build into a full disk calibrated for a minute or more and
    failed only as it wrote the engine, and, the cache being writable, did so again on every run."""
    folder = engine_dir()
    free = disk_free(folder)
    try:
        need = spec.float_onnx(weights).stat().st_size
    except OSError:
        return
    if free is not None and free < need:
        raise DeepPhotoError(
            f"building {spec.name} {precision} for {backend}: the disk of the engine cache {folder} is full "
            f"({free // 1024} KB free, the build needs about {-(-need // (1 << 20))} MB)"
        )


def _build_into(ctx: BuildContext, key: EngineKey, tmp: Path) -> dict:
    from deepphoto.engines.onnx_engine import OnnxEngine

    spec = ctx.spec
    float_path = spec.float_onnx(ctx.weights)
    frames = CalibrationFrames(ctx.calib, spec.calib_size, limit=CALIBRATION_FRAMES)
    if next(iter(frames), None) is None:
        raise DeepPhotoError(f"{ctx.calib}: no calibration frames (validation images are never used)")
    info: dict = {"calibration": str(ctx.calib), "recipe": BUILD_RECIPE}
    if ctx.backend == "onnx":
        if ctx.precision == "int8":
            from deepphoto.engines.quantize import feeds_of, quantize_int8

            # anything the quantizer still prints (quantize_int8 leaves out its notes): to stderr. The
            # swap is process-wide, so builds in threads (the web server opens pipelines in a pool)
            # take turns, and restore in order.
            with _QUANTIZER_LOCK, contextlib.redirect_stdout(sys.stderr):
                info["calibration_frames"] = quantize_int8(
                    float_path, tmp, _counted(feeds_of(frames, spec.feed), spec.name), "ort", list(spec.int8_ops)
                )
        else:
            _float16_onnx(float_path, tmp)
        candidate = OnnxEngine(tmp, providers=_ort_providers(), spin=False)
    else:
        candidate = _build_tensorrt(ctx, key, float_path, frames, tmp, info)
    # The float reference on ONNX Runtime (its CUDA provider where installed); idle pools sleep, as
    # in the pipeline, so that timing one engine does not slow the other.
    reference = OnnxEngine(float_path, providers=_ort_providers(), spin=False)
    gate = _gate(spec, reference, candidate, frames)
    info.update(gate=gate.text, passed=gate.passed, **gate.values)
    info["use"] = ctx.precision if gate.passed else "fp32"
    feed = spec.feed(0, next(iter(CalibrationFrames(ctx.calib, spec.bench_size, limit=1))))
    info["float_ms"], info["ms"] = compare_ms(reference, candidate, feed)
    info["reference"] = "ONNX Runtime fp32" + (" (CUDA)" if ort_has_cuda() else " (CPU)")
    info["speedup"] = info["float_ms"] / info["ms"]
    info["bench_size"] = "x".join(map(str, spec.bench_size))
    verdict = "passed" if gate.passed else "failed (float is used instead)"
    say(f"{spec.name} {ctx.precision}: accuracy gate {verdict}: {gate.text}; {info['speedup']:.2f}x float's speed")
    return info


def _counted(feeds: Iterable[T], name: str) -> Iterator[T]:
    """``feeds``, counted on a progress bar while calibration reads them (the longest part of a
    build: a minute or more on a laptop's CPU), where standard error is a terminal; the bar is
    cleared after, so that the terminal keeps the build's two lines alone."""
    from tqdm import tqdm

    from deepphoto.errors import bar_width, progress_shown

    with tqdm(
        feeds,
        total=None,  # up to CALIBRATION_FRAMES: the demo footage gives fewer (24)
        desc=f"calibrating {name} (up to {CALIBRATION_FRAMES} frames)",
        unit=" frames",
        leave=False,
        disable=not progress_shown(True),
        **bar_width(),
    ) as bar:
        yield from bar


def _gate(spec: ModelSpec, reference: Engine, candidate: Engine, frames: CalibrationFrames) -> GateResult:
    held_out = frames.held_out(GATE_FRAMES)  # never fed to calibration
    if spec.name == "lightnet":
        return lightnet_gate(reference, candidate, shared_data() / "seg" / "portraits", held_out)
    return style_gate(reference, candidate, spec, held_out)


def _ort_providers() -> list[str] | None:
    return ["CUDAExecutionProvider", "CPUExecutionProvider"] if ort_has_cuda() else None


def _float16_onnx(float_path: Path, out: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(float_path)), keep_io_types=True)
    onnx.save(model, str(out))


def _build_tensorrt(
    ctx: BuildContext, key: EngineKey, float_path: Path, frames: CalibrationFrames, tmp: Path, info: dict
) -> Engine:
    from deepphoto.engines.tensorrt_engine import TensorRTEngine, build_serialized_engine, trt_version

    spec, source, calibrator = ctx.spec, float_path, None
    if ctx.precision == "int8":
        if int(trt_version().split(".")[0]) >= 10:
            # Explicit quantization: a symmetric signed QDQ model, no calibrator.
            from deepphoto.engines.quantize import feeds_of, quantize_int8

            # a name of its own (temporary_name): what a killed build left ('<tmp>.qdq.onnx' was
            # never matched by the sweep of dead writers' '.partial.plan' files) is removed
            source = temporary_name(tmp.parent / f"{key.stem}.qdq.onnx")
            try:
                info["calibration_frames"] = quantize_int8(
                    float_path, source, feeds_of(frames, spec.feed), "tensorrt", list(spec.int8_ops)
                )
                info["int8_path"] = "explicit QDQ"
                plan = build_serialized_engine(source, ctx.precision, spec.trt_shapes, None)
            finally:
                discard(source)
            tmp.write_bytes(plan)
            return TensorRTEngine(plan)
        else:
            from deepphoto.calibration.trt_calibrator import make_entropy_calibrator
            from deepphoto.engines.quantize import feeds_of

            feeds = list(feeds_of(frames, spec.feed))
            # The calibration cache is named by the calibration source too: another source, another cache.
            source_id = hashlib.sha256(str(Path(ctx.calib).resolve()).encode()).hexdigest()[:12]
            calibrator = make_entropy_calibrator(feeds, engine_dir() / f"{key.stem}-{source_id}.calib")
            info["int8_path"] = "IInt8EntropyCalibrator2"
    plan = build_serialized_engine(source, ctx.precision, spec.trt_shapes, calibrator)
    tmp.write_bytes(plan)
    return TensorRTEngine(plan)
