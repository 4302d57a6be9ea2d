"""The engine interface every backend implements: load a model, say its inputs and outputs, run."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from deepphoto.settings import BACKENDS, PRECISIONS

__all__ = ["BACKENDS", "PRECISIONS", "Engine", "TensorInfo"]


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int | str, ...]  # str for dynamic axes
    dtype: str


class Engine(ABC):
    """A compiled or loaded network: float32 inputs in, its first output back."""

    name: str = "engine"
    precision: str = "fp32"  # what the loaded network computes in (set by whoever opens it)
    device: str = "cpu"

    @property
    def label(self) -> str:
        """``backend:precision``, as reports and ``--backend``/``--precision`` name it."""
        return f"{self.name}:{self.precision}"

    @property
    @abstractmethod
    def inputs(self) -> list[TensorInfo]: ...

    @property
    @abstractmethod
    def outputs(self) -> list[TensorInfo]: ...

    @abstractmethod
    def run(self, *inputs: np.ndarray) -> np.ndarray:
        """Run one batch (inputs in the order of ``inputs``) and return the first output, float32."""
