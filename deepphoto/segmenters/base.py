"""What every person segmenter offers the pipeline, evaluation and benchmarks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deepphoto.settings import LIGHTNET_INPUT


@dataclass(frozen=True)
class SegmenterOptions:
    """How to open a segmenter; each network uses what applies to it."""

    backend: str = "onnx"
    precision: str = "fp32"
    input_size: tuple[int, int] = LIGHTNET_INPUT  # (width, height)
    threads: int | None = None
    weights: Path | None = None
    spin: bool = True  # ONNX Runtime threads spin between runs (benchmarks); False in the pipeline


class PersonSegmenter(ABC):
    """BGR frame of any size in, person probability out. ``prepare`` and ``infer`` are separate so
    the pipeline can time them as two stages."""

    name: str = "segmenter"
    input_size: tuple[int, int] = LIGHTNET_INPUT

    @classmethod
    @abstractmethod
    def open(cls, options: SegmenterOptions) -> PersonSegmenter:
        """The segmenter with its network loaded."""

    @abstractmethod
    def prepare(self, frame: np.ndarray) -> np.ndarray:
        """The network input for a BGR frame."""

    @abstractmethod
    def infer(self, x: np.ndarray) -> np.ndarray:
        """Person probability at the network's output resolution, float32 (H, W)."""

    def describe(self) -> str:
        """Which network on which engine, for reports."""
        return self.name

    def low_res(self, frame: np.ndarray) -> np.ndarray:
        """Person probability at the network's output resolution, float32."""
        return self.infer(self.prepare(frame))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Person probability in [0, 1], float32, of the frame's height and width."""
        prob = self.low_res(frame)
        return cv2.resize(prob, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
