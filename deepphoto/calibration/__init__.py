"""INT8 calibration data readers and caches (shared by the ONNX Runtime and TensorRT paths)."""
