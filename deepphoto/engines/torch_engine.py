"""PyTorch backend: runs an ``nn.Module`` on the CPU (or CUDA where available)."""

from __future__ import annotations

import numpy as np
import torch

from deepphoto.engines.base import Engine, TensorInfo


class TorchEngine(Engine):
    name = "torch"

    def __init__(
        self,
        module: torch.nn.Module,
        input_names: tuple[str, ...] = ("input",),
        output_name: str = "output",
        device: str = "cpu",
        threads: int | None = None,
    ) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        self.module = module.eval().to(self.device)
        self._in = [TensorInfo(name, ("N", "..."), "float32") for name in input_names]
        self._out = TensorInfo(output_name, ("N", "C", "h", "w"), "float32")

    @property
    def inputs(self) -> list[TensorInfo]:
        return list(self._in)

    @property
    def outputs(self) -> list[TensorInfo]:
        return [self._out]

    def run(self, *inputs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = self.module(*(torch.from_numpy(np.ascontiguousarray(x)).to(self.device) for x in inputs))
        return out.float().cpu().numpy()
