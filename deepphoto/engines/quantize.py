"""INT8 ONNX files by static calibration, in the two flavours the backends want.

- ``ort``: QDQ with per-channel signed weights and *unsigned* activations (asymmetric), which the
  VNNI kernels of ONNX Runtime's CPU provider run fastest.
- ``tensorrt``: QDQ with symmetric signed 8-bit weights and activations (explicit quantization,
  preferred by TensorRT 10 and required by TensorRT 11).

Both read the shared calibration source (:mod:`deepphoto.calibration.source`). Instance
normalisation, softmax-like heads and resizes stay in float.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from deepphoto.calibration.ort_reader import Feed, OrtCalibrationReader
from deepphoto.errors import DeepPhotoError

FLAVOURS = ("ort", "tensorrt")
CALIBRATION_PERCENTILE = 99.99
# Feeds whose activations ONNX Runtime's histogram calibration holds at once. It keeps every
# activation of every feed until the last (LightNet at 352x352, 64 feeds: 18 GB resident, and a
# first `run` killed on a machine with less); histograms of a few feeds at a time are merged
# instead (ONNX Runtime's own merge: the bins widen as larger values come): about 1.4 GB.
CALIBRATION_CHUNK = 4
_CHUNKING = threading.Lock()  # the patch is process-wide: builds on threads (TensorRT's too) take turns


def quantize_int8(
    float_onnx: Path,
    out: Path,
    feeds: Iterable[Feed],
    flavour: str = "ort",
    op_types: list[str] | None = None,
) -> int:
    """Write an INT8 QDQ copy of ``float_onnx`` to ``out``; returns the number of calibration feeds.
    ``op_types``: the ONNX op types to quantize (None: every type ONNX Runtime can)."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if flavour not in FLAVOURS:
        raise DeepPhotoError(f"unknown INT8 flavour {flavour!r}: choose from {', '.join(FLAVOURS)}")

    reader = OrtCalibrationReader(feeds)
    symmetric = flavour == "tensorrt"
    # x86 CPUs without VNNI multiply u8 x s8 pairs into saturating 16-bit sums (vpmaddubsw): 7-bit
    # weights avoid it (ONNX Runtime's advice). LightNet on an AVX2 EPYC: 8-bit weights cost 1.7 IoU
    # points against float and failed the gate.
    reduce_range = flavour == "ort" and not cpu_has_vnni()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, _histograms_in_chunks(CALIBRATION_CHUNK), _quiet_quantizer():
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_onnx), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=reduce_range,
            activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=op_types,
            # 99.99th percentile of |activation|, not the extreme: on LightNet at 352x352 MinMax cost
            # 0.70 IoU points against float, the percentile 0.03 (37 validation portraits)
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={
                "ActivationSymmetric": symmetric,
                "WeightSymmetric": True,
                "CalibPercentile": CALIBRATION_PERCENTILE,
            },
        )
    return reader.fed  # an empty source is refused before (engines.build checks the first frame)


class _Chunk:
    """Up to ``size`` feeds of ``reader`` (a calibration data reader), then the end."""

    def __init__(self, reader: object, size: int) -> None:
        self.reader, self.left = reader, size
        self.first = reader.get_next()  # type: ignore[attr-defined]

    def get_next(self) -> dict | None:
        if self.left <= 0:
            return None
        self.left -= 1
        item, self.first = (self.first, None) if self.first is not None else (self.reader.get_next(), None)  # type: ignore[attr-defined]
        return item


@contextmanager
def _histograms_in_chunks(size: int) -> Iterator[None]:
    """ONNX Runtime's histogram calibrators (percentile, entropy) collect ``size`` feeds at a time,
    merging each chunk's histograms into the last's, rather than holding every feed's activations."""
    from onnxruntime.quantization.calibrate import HistogramCalibrater

    with _CHUNKING:
        whole = HistogramCalibrater.collect_data

        def in_chunks(self: HistogramCalibrater, data_reader: object) -> None:
            while (chunk := _Chunk(data_reader, size)).first is not None:
                whole(self, chunk)

        HistogramCalibrater.collect_data = in_chunks  # type: ignore[method-assign]
        try:
            yield
        finally:
            HistogramCalibrater.collect_data = whole  # type: ignore[method-assign]


class _QuantizerChatter(logging.Filter):
    """Leaves out what ONNX Runtime's quantizer logs below an error (its notes on tensors it keeps
    in float, on bias copies, ...), which Python writes on stderr when no logging is set up."""

    def __init__(self, package: str) -> None:
        super().__init__()
        self.package = os.path.join(package, "")

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.pathname.startswith(self.package)


@contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """ONNX Runtime's calibration without its progress notes on the user's terminal: its calibrators
    ``print`` about 20 lines ('Collecting tensor data and making histogram ...' for each chunk of
    feeds, the number of tensors and bins); its errors are exceptions, which still come. Taken with
    ``_CHUNKING`` held (a module attribute, restored after)."""
    from onnxruntime.quantization import calibrate

    chatter = _QuantizerChatter(os.path.dirname(calibrate.__file__))
    root = logging.getLogger()
    calibrate.print = lambda *args, **kwargs: None  # type: ignore[attr-defined]  # its module alone
    root.addFilter(chatter)
    try:
        yield
    finally:
        root.removeFilter(chatter)
        del calibrate.print  # type: ignore[attr-defined]  # the builtin again


def cpu_has_vnni() -> bool:
    """Whether this x86 CPU has VNNI (8-bit dot products without saturation); True elsewhere."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86"):
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def feeds_of(frames: Iterable[np.ndarray], make_feed: Callable[[int, np.ndarray], Feed]) -> Iterable[Feed]:
    """Calibration feeds from network inputs: ``make_feed(index, frame)``."""
    for i, frame in enumerate(frames):
        yield make_feed(i, frame)
