"""The two networks an engine can be built for, and what each backend needs to know about them."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepphoto.errors import DeepPhotoError

Shapes = dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


def shared_data() -> Path:
    """``$DEEPPHOTO_SHARED_DATA``, else ``../shared/data`` (the team's data set beside the checkout)."""
    return Path(os.environ.get("DEEPPHOTO_SHARED_DATA", "../shared/data"))


@dataclass(frozen=True)
class ModelSpec:
    name: str
    float_onnx: Callable[[Path | None], Path]  # weights -> cached float32 ONNX file
    input_names: tuple[str, ...]
    output_name: str
    calib_size: tuple[int, int]  # (W, H) of calibration and gate inputs
    bench_size: tuple[int, int]  # (W, H) the build times both precisions at
    trt_shapes: Shapes  # min / opt / max per input, for the TensorRT optimisation profile
    int8_ops: tuple[str, ...]  # ONNX op types quantized for ONNX Runtime
    styles: int = 0

    def feed(self, index: int, rgb: np.ndarray) -> dict[str, np.ndarray]:
        """The network's inputs for one preprocessed frame (1, 3, H, W); the style network cycles
        through its styles so every style's statistics are calibrated."""
        if not self.styles:
            return {"rgb": rgb}
        style = np.zeros((1, self.styles), np.float32)
        style[0, index % self.styles] = 1.0
        return {"rgb": rgb, "style": style}

    def torch_module(self, weights: Path | None) -> object:
        if self.name == "lightnet":
            from deepphoto.models.lightnet import LightNetProb
            from deepphoto.models.lightnet_io import load_lightnet

            return LightNetProb(load_lightnet(weights))
        from deepphoto.models.styles import load_stylenet

        return load_stylenet(weights)


def float_onnx(model: str, weights: Path | None = None) -> Path:
    """The float32 ONNX file of ``model`` with ``weights`` (default: the shipped ones). The shipped
    weights come with their ONNX file; other weights are exported into the cache once (torch)."""
    from deepphoto.assets import sha256_of
    from deepphoto.models.shipped import SHIPPED, onnx_weights_hash, shipped_onnx

    path = Path(weights) if weights else SHIPPED[model]
    if not path.is_file():
        raise DeepPhotoError(f"{path}: weights file not found")
    packaged = shipped_onnx(model)
    if packaged.is_file() and onnx_weights_hash(packaged) == sha256_of(path):
        return packaged  # made from exactly these weights
    if model == "lightnet":
        from deepphoto.models.lightnet_io import cached_onnx
    else:
        from deepphoto.models.styles import cached_onnx
    return cached_onnx(path)


def _lightnet_onnx(weights: Path | None) -> Path:
    return float_onnx("lightnet", weights)


def _stylenet_onnx(weights: Path | None) -> Path:
    path = float_onnx("stylenet", weights)
    if weights is None:  # the shipped network: with the user's own styles (add-style), if any
        from deepphoto.models.shipped import with_user_styles

        path = with_user_styles(path)
    return path


def model_spec(name: str, weights: Path | None = None) -> ModelSpec:
    if name == "lightnet":
        from deepphoto.settings import LIGHTNET_INPUT

        w, h = LIGHTNET_INPUT
        return ModelSpec(
            "lightnet",
            _lightnet_onnx,
            ("rgb",),
            "prob",
            calib_size=LIGHTNET_INPUT,
            bench_size=LIGHTNET_INPUT,
            trt_shapes={"rgb": ((1, 3, 128, 128), (1, 3, h, w), (1, 3, 512, 512))},
            # Clip (ReLU6) and Add quantized too: their outputs stay INT8 between convolutions.
            int8_ops=("Conv", "Clip", "Add", "MaxPool", "Resize"),
        )
    if name == "stylenet":
        from deepphoto.models.shipped import style_names

        styles = len(style_names(weights))
        return ModelSpec(
            "stylenet",
            _stylenet_onnx,
            ("rgb", "style"),
            "styled",
            calib_size=(320, 240),
            bench_size=(480, 360),  # 640x480 at the pipeline's default --style-scale 0.75
            trt_shapes={
                "rgb": ((1, 3, 64, 64), (1, 3, 360, 480), (1, 3, 1080, 1920)),
                "style": ((1, styles), (1, styles), (1, styles)),
            },
            int8_ops=("Conv", "Relu", "Add"),  # instance norm stays float
            styles=styles,
        )
    raise DeepPhotoError(f"unknown model {name!r}: choose lightnet or stylenet")


MODELS = ("lightnet", "stylenet")
