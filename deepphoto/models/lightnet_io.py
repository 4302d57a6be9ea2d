"""Load LightNet weights and export them to ONNX (cached by weights hash)."""

from __future__ import annotations

from pathlib import Path

import torch

from deepphoto.models import onnx_cache
from deepphoto.models.lightnet import LightNet, LightNetProb, lightnet_of
from deepphoto.models.shipped import SHIPPED
from deepphoto.models.weights import load_into, read_weights

SHIPPED_LIGHTNET = SHIPPED["lightnet"]
# The graph's form, in the names of cached exports: 2 since the CRP blocks' 5x5 max-pools are
# exported as 1x5 and 5x1 pools (``lightnet.max_pool5``; the same numbers, faster), so a file of
# the form before is exported again.
EXPORT_FORM = 2


def load_lightnet(weights: Path | None = None) -> LightNet:
    """LightNet with the given (default: shipped) weights, in eval mode, float32."""
    path = Path(weights) if weights else SHIPPED_LIGHTNET
    state, config = read_weights(path, kind="lightnet")
    net = lightnet_of(config)
    return load_into(net, state, path, "LightNet")


def export_onnx(weights: Path | None, out: Path) -> Path:
    """Export LightNet (person probability output, dynamic batch and size) to ``out``."""
    return export_net(load_lightnet(weights), out)


def export_net(net: LightNet, out: Path) -> Path:
    """Export the network ``net`` as ``export_onnx`` exports weights."""
    return onnx_cache.export_module(
        LightNetProb(net),
        (torch.rand(1, 3, 256, 256),),
        out,
        ["rgb"],
        ["prob"],
        {"rgb": {0: "N", 2: "H", 3: "W"}, "prob": {0: "N", 2: "h", 3: "w"}},
    )


def cached_onnx(weights: Path | None = None) -> Path:
    """The ONNX file for these weights, exported into the cache on first use."""
    return onnx_cache.cached_onnx(
        Path(weights) if weights else SHIPPED_LIGHTNET, f"lightnet-f{EXPORT_FORM}", export_onnx
    )
