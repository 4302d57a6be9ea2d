"""ONNX Runtime backend (CPU provider by default; CUDA where onnxruntime-gpu is installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepphoto.engines.base import Engine, TensorInfo
from deepphoto.errors import DeepPhotoError


class OnnxEngine(Engine):
    name = "onnx"

    def __init__(
        self, path: Path, threads: int | None = None, providers: list[str] | None = None, spin: bool = True
    ) -> None:
        """``spin=False`` lets idle pool threads sleep: slower alone, faster beside other busy stages."""
        import onnxruntime as ort

        if not Path(path).is_file():
            raise DeepPhotoError(f"{path}: ONNX model not found")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        if not spin:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own untyped errors for damaged files
            raise DeepPhotoError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from None
        self.path = Path(path)
        self.threads = threads  # intra-op threads asked for (None: ONNX Runtime's default, all cores)
        self._in = [TensorInfo(i.name, tuple(i.shape), i.type) for i in self.session.get_inputs()]
        self._out = [TensorInfo(o.name, tuple(o.shape), o.type) for o in self.session.get_outputs()]

    @property
    def inputs(self) -> list[TensorInfo]:
        return self._in

    @property
    def outputs(self) -> list[TensorInfo]:
        return self._out

    def run(self, *inputs: np.ndarray) -> np.ndarray:
        feed = {info.name: np.ascontiguousarray(x, dtype=np.float32) for info, x in zip(self._in, inputs)}
        return self.session.run(None, feed)[0]
