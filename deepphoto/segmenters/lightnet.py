"""LightNet, this project's person segmenter (Light-Weight RefineNet on MobileNetV2), on any engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepphoto.engines.base import Engine
from deepphoto.errors import DeepPhotoError, option
from deepphoto.frames import to_bgr8, to_network_input
from deepphoto.segmenters.base import PersonSegmenter, SegmenterOptions
from deepphoto.settings import LIGHTNET_INPUT


def make_seg_engine(
    backend: str,
    weights: Path | None = None,
    threads: int | None = None,
    spin: bool = True,
    precision: str = "fp32",
) -> Engine:
    """The LightNet engine for ``backend`` and ``precision``, from ``weights`` (default: the shipped
    ones; an ``.onnx`` file runs as it is in ONNX Runtime)."""
    if weights is not None and Path(weights).suffix == ".onnx" and backend in ("onnx", "auto"):
        from deepphoto.engines.onnx_engine import OnnxEngine

        if precision not in ("fp32", "auto"):
            raise DeepPhotoError(
                f"{weights}: an .onnx file runs as it is; {option('precision', precision)} needs .safetensors"
            )
        return OnnxEngine(Path(weights), threads=threads, spin=spin)
    from deepphoto.engines.build import open_engine

    return open_engine("lightnet", backend, precision, weights, threads, spin)


class LightNetSegmenter(PersonSegmenter):
    """Person probability per pixel. ``input_size`` = (width, height), multiples of 32."""

    name = "lightnet"

    def __init__(
        self,
        backend: str = "onnx",
        weights: Path | None = None,
        input_size: tuple[int, int] = LIGHTNET_INPUT,
        threads: int | None = None,
        engine: Engine | None = None,
        spin: bool = True,
        precision: str = "fp32",
    ) -> None:
        if input_size[0] % 32 or input_size[1] % 32:
            raise DeepPhotoError(f"model input size {input_size[0]}x{input_size[1]}: both must be multiples of 32")
        self.input_size = input_size
        self.engine = engine or make_seg_engine(backend, weights, threads, spin, precision)

    @classmethod
    def open(cls, options: SegmenterOptions) -> LightNetSegmenter:
        o = options
        return cls(o.backend, o.weights, o.input_size, o.threads, spin=o.spin, precision=o.precision)

    def describe(self) -> str:
        return f"LightNet {self.input_size[0]}x{self.input_size[1]} on {self.engine.label}"

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        """The network input for a frame: (1, 3, H, W) RGB float32 at the model input size."""
        return to_network_input(to_bgr8(frame), self.input_size)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Person probability at the network's output resolution (input / 4, or / 2 with a finer level), float32."""
        return self.engine.run(x)[0, 0]
