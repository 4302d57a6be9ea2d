"""PyTorch backend: an ``nn.Module`` on the CPU, or on CUDA in half precision replayed from CUDA
graphs (one graph per input shape: a video's shape never changes, so capture happens once)."""

from __future__ import annotations

import threading

import numpy as np
import torch

from deepphoto.engines.base import Engine, TensorInfo
from deepphoto.errors import DeepPhotoError

MAX_GRAPHS = 4  # input shapes kept captured at once
# The segmenter and the stylizer run on two threads: one capture at a time, process-wide.
_CAPTURE_LOCK = threading.Lock()


class TorchEngine(Engine):
    name = "torch"

    def __init__(
        self,
        module: torch.nn.Module,
        input_names: tuple[str, ...] = ("input",),
        output_name: str = "output",
        device: str = "cpu",
        threads: int | None = None,
        half: bool = False,
        cuda_graphs: bool = True,
    ) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.torch_device = torch.device(device)
        self.device = self.torch_device.type
        self.half = half
        self.precision = "fp16" if half else "fp32"
        # Channels-last: oneDNN's vectorised pooling and convolutions on CPUs (3x faster for LightNet
        # here) and tensor-core layouts on GPUs.
        self.module = module.eval().to(self.torch_device).to(memory_format=torch.channels_last)
        if half:
            self.module.half()
        self.use_graphs = cuda_graphs and self.device == "cuda"
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, list[torch.Tensor], torch.Tensor]] = {}
        self._in = [TensorInfo(name, ("N", "..."), "float32") for name in input_names]
        self._out = TensorInfo(output_name, ("N", "C", "h", "w"), "float32")

    @property
    def inputs(self) -> list[TensorInfo]:
        return list(self._in)

    @property
    def outputs(self) -> list[TensorInfo]:
        return [self._out]

    def _tensors(self, inputs: tuple[np.ndarray, ...]) -> list[torch.Tensor]:
        tensors = [torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.torch_device) for x in inputs]
        tensors = [t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t for t in tensors]
        return [t.half() for t in tensors] if self.half else tensors

    def run(self, *inputs: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self._forward(self._tensors(inputs)).float().cpu().numpy())

    def _forward(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        """The network on tensors on its device: a captured graph replayed, or a plain call."""
        if self.use_graphs:
            return self._replay(tensors)
        with torch.inference_mode():
            return self.module(*tensors)

    def run_image(self, bgr: np.ndarray, *extra: np.ndarray) -> np.ndarray:
        """A network from an RGB picture to an RGB picture (the style network), given and giving
        8-bit BGR (H, W, 3): the same numbers as ``run`` on the float planes (values / 255 in;
        out times 255, rounded, clipped), but the conversions run where the network does, and on a
        GPU only 8-bit pictures cross the bus, a quarter of float32's bytes."""
        if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
            raise DeepPhotoError(f"run_image takes an 8-bit BGR picture (H, W, 3), not {bgr.dtype} {bgr.shape}")
        picture = torch.from_numpy(np.ascontiguousarray(bgr)).to(self.torch_device)
        rgb = picture.flip(-1).permute(2, 0, 1)[None].float().mul_(1 / 255)
        tensors = [rgb.contiguous(memory_format=torch.channels_last), *self._tensors(extra)]
        if self.half:
            tensors[0] = tensors[0].half()
        out8 = self._forward(tensors)[0].float().mul(255).round_().clamp_(0, 255).to(torch.uint8)
        return np.ascontiguousarray(out8.flip(0).permute(1, 2, 0).cpu().numpy())

    def _replay(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        key = tuple(tuple(t.shape) for t in tensors)
        if key not in self._graphs:
            if len(self._graphs) >= MAX_GRAPHS:
                self._graphs.pop(next(iter(self._graphs)))
            self._graphs[key] = self._capture(tensors)
        graph, static_in, static_out = self._graphs[key]
        for dst, src in zip(static_in, tensors):
            dst.copy_(src)
        graph.replay()
        return static_out

    @torch.no_grad()
    def _capture(self, tensors: list[torch.Tensor]) -> tuple[torch.cuda.CUDAGraph, list[torch.Tensor], torch.Tensor]:
        """Warm up on a side stream (as PyTorch's CUDA-graph notes require), then capture one call.
        Captures are serialised, and 'thread_local' lets the other thread keep running its own work."""
        with _CAPTURE_LOCK:
            return self._capture_locked(tensors)

    def _capture_locked(
        self, tensors: list[torch.Tensor]
    ) -> tuple[torch.cuda.CUDAGraph, list[torch.Tensor], torch.Tensor]:
        static_in = [t.clone() for t in tensors]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                self.module(*static_in)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            static_out = self.module(*static_in)
        return graph, static_in, static_out
