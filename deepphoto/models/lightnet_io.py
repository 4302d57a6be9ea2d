"""Load LightNet weights and export them to ONNX (cached by weights hash)."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from deepphoto.errors import DeepPhotoError
from deepphoto.models import onnx_cache
from deepphoto.models.lightnet import LightNet, LightNetProb
from deepphoto.models.weights import PACKAGE_WEIGHTS, read_weights

SHIPPED_LIGHTNET = PACKAGE_WEIGHTS / "lightnet.safetensors"


def load_lightnet(weights: Path | None = None) -> LightNet:
    """LightNet with the given (default: shipped) weights, in eval mode, float32."""
    path = Path(weights) if weights else SHIPPED_LIGHTNET
    state, config = read_weights(path, kind="lightnet")
    net = LightNet(width=int(config.get("width", 128)))
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise DeepPhotoError(
            f"{path}: weights do not fit LightNet ({len(missing)} missing, {len(unexpected)} unexpected tensors)"
        )
    return net.eval()


def export_onnx(weights: Path | None, out: Path) -> Path:
    """Export LightNet (person probability output, dynamic batch and size) to ``out``."""
    model = LightNetProb(load_lightnet(weights)).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    dummy = torch.rand(1, 3, 256, 256)
    with warnings.catch_warnings():  # the exporter's notes on constant folding are not for users
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy,),
            str(tmp),
            input_names=["rgb"],
            output_names=["prob"],
            dynamic_axes={"rgb": {0: "N", 2: "H", 3: "W"}, "prob": {0: "N", 2: "h", 3: "w"}},
            opset_version=onnx_cache.ONNX_OPSET,
            dynamo=False,
        )
    tmp.replace(out)
    return out


def cached_onnx(weights: Path | None = None) -> Path:
    """The ONNX file for these weights, exported into the cache on first use."""
    return onnx_cache.cached_onnx(Path(weights) if weights else SHIPPED_LIGHTNET, "lightnet", export_onnx)
