"""ONNX Runtime's CalibrationDataReader over the shared calibration source."""

from __future__ import annotations

from onnxruntime.quantization import CalibrationDataReader

from deepphoto.calibration.source import CalibrationFrames


class OrtCalibrationReader(CalibrationDataReader):
    def __init__(self, frames: CalibrationFrames, input_name: str) -> None:
        self.batches = iter(frames)
        self.input_name = input_name
        self.fed = 0

    def get_next(self) -> dict | None:
        batch = next(self.batches, None)
        if batch is None:
            return None
        self.fed += 1
        return {self.input_name: batch}
