"""Segmenter: BGR frame of any size in, person probability of the same size out."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from deepphoto.engines.base import Engine
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import to_bgr8, to_network_input

DEFAULT_INPUT_SIZE = (256, 256)  # (width, height); chosen by measurement, see the model card
SEG_BACKENDS = ("onnx", "torch")


def make_seg_engine(backend: str, weights: Path | None = None, threads: int | None = None, spin: bool = True) -> Engine:
    """The LightNet engine for ``backend``, built from ``weights`` (default: the shipped ones)."""
    if backend == "torch":
        from deepphoto.engines.torch_engine import TorchEngine
        from deepphoto.models.lightnet import LightNetProb
        from deepphoto.models.lightnet_io import load_lightnet

        return TorchEngine(LightNetProb(load_lightnet(weights)), ("rgb",), "prob", threads=threads)
    if backend == "onnx":
        from deepphoto.engines.onnx_engine import OnnxEngine

        weights_path = Path(weights) if weights else None
        if weights_path is not None and weights_path.suffix == ".onnx":
            return OnnxEngine(weights_path, threads=threads, spin=spin)
        from deepphoto.models.lightnet_io import cached_onnx

        return OnnxEngine(cached_onnx(weights_path), threads=threads, spin=spin)
    raise DeepPhotoError(f"unknown backend {backend!r}: choose from {', '.join(SEG_BACKENDS)}")


class Segmenter:
    """Person probability per pixel. ``input_size`` = (width, height), multiples of 32."""

    def __init__(
        self,
        backend: str = "onnx",
        weights: Path | None = None,
        input_size: tuple[int, int] = DEFAULT_INPUT_SIZE,
        threads: int | None = None,
        engine: Engine | None = None,
        spin: bool = True,
    ) -> None:
        if input_size[0] % 32 or input_size[1] % 32:
            raise DeepPhotoError(f"model input size {input_size[0]}x{input_size[1]}: both must be multiples of 32")
        self.input_size = input_size
        self.engine = engine or make_seg_engine(backend, weights, threads, spin)
        self.backend = self.engine.name

    def low_res(self, frame: np.ndarray) -> np.ndarray:
        """Person probability at the network's output resolution (input / 4), float32."""
        return self.engine.run(to_network_input(to_bgr8(frame), self.input_size))[0, 0]

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Person probability in [0, 1], float32, of the frame's height and width."""
        prob = self.low_res(frame)
        h, w = frame.shape[:2]
        return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
