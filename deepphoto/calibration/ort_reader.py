"""ONNX Runtime's CalibrationDataReader over the shared calibration source."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from onnxruntime.quantization import CalibrationDataReader

from deepphoto.calibration.source import Feed

__all__ = ["Feed", "OrtCalibrationReader"]


class OrtCalibrationReader(CalibrationDataReader):
    """Feeds ONNX Runtime's calibrator: each item is a network input (for ``input_name``) or a
    dict of inputs by name (networks with several inputs, e.g. the style vector)."""

    def __init__(self, frames: Iterable[np.ndarray | Feed], input_name: str = "rgb") -> None:
        self.batches = iter(frames)
        self.input_name = input_name
        self.fed = 0

    def get_next(self) -> Feed | None:
        batch = next(self.batches, None)
        if batch is None:
            return None
        self.fed += 1
        return batch if isinstance(batch, dict) else {self.input_name: batch}
