"""The shipped style networks: which styles exist, and loading the network that holds them."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from deepphoto.errors import DeepPhotoError
from deepphoto.models import onnx_cache
from deepphoto.models.stylenet import StyleNet
from deepphoto.models.weights import PACKAGE_WEIGHTS, load_into, read_weights

SHIPPED_STYLENET = PACKAGE_WEIGHTS / "stylenet.safetensors"


def style_names(weights: Path | None = None) -> list[str]:
    """Style names held by a StyleNet weights file (read from its metadata; no torch needed)."""
    from safetensors import safe_open

    path = Path(weights) if weights else SHIPPED_STYLENET
    if not path.is_file():
        return []
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
    if meta.get("kind") != "stylenet":
        raise DeepPhotoError(f"{path}: not a stylenet weights file")
    return list(json.loads(meta.get("config", "{}")).get("styles", []))


def style_vector(style: str, names: list[str]) -> list[float]:
    """'wave' or a blend 'wave:0.7,scream:0.3' -> blend weights in the network's style order."""
    weights = [0.0] * len(names)
    for part in style.split(","):
        name, _, amount = part.partition(":")
        if name not in names:
            listed = ", ".join(names) if names else "none are installed"
            raise DeepPhotoError(f"unknown style {name!r}: choose from {listed}")
        try:
            weights[names.index(name)] += float(amount) if amount else 1.0
        except ValueError:
            raise DeepPhotoError(f"style {part!r}: the blend amount must be a number") from None
    total = sum(weights)
    if total <= 0:
        raise DeepPhotoError(f"style {style!r}: blend amounts must add up to more than 0")
    return [w / total for w in weights]


def load_stylenet(weights: Path | None = None) -> StyleNet:
    path = Path(weights) if weights else SHIPPED_STYLENET
    state, config = read_weights(path, kind="stylenet")
    net = StyleNet(len(config["styles"]), width=int(config.get("width", 64)))
    return load_into(net, state, path, "StyleNet")


def export_onnx(weights: Path | None, out: Path) -> Path:
    net = load_stylenet(weights)
    example = (torch.rand(1, 3, 64, 64), torch.full((1, net.styles), 1.0 / net.styles))
    return onnx_cache.export_module(
        net,
        example,
        out,
        ["rgb", "style"],
        ["styled"],
        {"rgb": {0: "N", 2: "H", 3: "W"}, "style": {0: "N"}, "styled": {0: "N", 2: "H", 3: "W"}},
    )


def cached_onnx(weights: Path | None = None) -> Path:
    return onnx_cache.cached_onnx(Path(weights) if weights else SHIPPED_STYLENET, "stylenet", export_onnx)
