"""Loading a StyleNet weights file into PyTorch, and exporting it to ONNX (the torch side of
``deepphoto.models.shipped``)."""

from __future__ import annotations

from pathlib import Path

import torch

from deepphoto.errors import DeepPhotoError
from deepphoto.models import onnx_cache
from deepphoto.models.shipped import SHIPPED, user_styles_for
from deepphoto.models.stylenet import StyleNet, stylenet_of
from deepphoto.models.stylenet_export import ExportedStyleNet
from deepphoto.models.weights import load_into, read_weights

SHIPPED_STYLENET = SHIPPED["stylenet"]
# The graph's form, in the cache's file names: a new form is exported again (2: the folded tail).
EXPORT_FORM = 2


def load_stylenet(weights: Path | None = None) -> StyleNet:
    """A StyleNet weights file; without ``weights``, the shipped network with the user styles that
    fit it appended (as the runtime's ONNX file has them)."""
    path = Path(weights) if weights else SHIPPED_STYLENET
    state, config = read_weights(path, kind="stylenet")
    extra = user_styles_for() if weights is None else []
    for s in extra:
        for key, row in s.rows.items():
            if key not in state or state[key].shape[1:] != row.shape:
                raise DeepPhotoError(f"{s.path}: its rows do not fit {path.name}")
            state[key] = torch.cat([state[key], torch.from_numpy(row)[None]])
    net = stylenet_of(config, len(config["styles"]) + len(extra))
    return load_into(net, state, path, "StyleNet")


def export_onnx(weights: Path | None, out: Path) -> Path:
    net = load_stylenet(weights)
    example = (torch.rand(1, 3, 64, 64), torch.full((1, net.styles), 1.0 / net.styles))
    return onnx_cache.export_module(
        ExportedStyleNet(net),
        example,
        out,
        ["rgb", "style"],
        ["styled"],
        {"rgb": {0: "N", 2: "H", 3: "W"}, "style": {0: "N"}, "styled": {0: "N", 2: "H", 3: "W"}},
    )


def cached_onnx(weights: Path | None = None) -> Path:
    return onnx_cache.cached_onnx(
        Path(weights) if weights else SHIPPED_STYLENET, f"stylenet-f{EXPORT_FORM}", export_onnx
    )
