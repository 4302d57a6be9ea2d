"""Shipped weights: safetensors files whose metadata says which network they hold."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.output_safety import discard, temporary_name


def save_weights(module: torch.nn.Module, path: Path, kind: str, config: dict, half: bool = True) -> None:
    save_state(module.state_dict(), path, kind, config, half)


def save_state(state: dict[str, torch.Tensor], path: Path, kind: str, config: dict, half: bool = True) -> None:
    state = {
        k: (v.half() if half and v.is_floating_point() else v).contiguous()
        for k, v in state.items()
        if not k.endswith("num_batches_tracked")
    }
    if path.is_dir():
        raise DeepPhotoError(f"{path}: is a folder; name the weights file to write")
    if path.parent.exists() and not path.parent.is_dir():
        raise DeepPhotoError(f"{path.parent}: is a file, not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)  # written whole, then renamed: never half a file
    try:
        save_file(state, str(tmp), metadata={"kind": kind, "config": json.dumps(config)})
        tmp.chmod(0o644)  # shipped files are read by everyone
        tmp.replace(path)
    finally:
        discard(tmp)


def read_weights(path: Path, kind: str) -> tuple[dict[str, torch.Tensor], dict]:
    """The float32 state dict and config of a ``kind`` weights file, or a one-line error."""
    if not path.is_file():
        raise DeepPhotoError(f"{path}: weights file not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DeepPhotoError(f"{path}: not a readable safetensors weights file ({exc})") from None
    if meta.get("kind") != kind:
        raise DeepPhotoError(f"{path}: not a {kind} weights file (it says kind={meta.get('kind')!r})")
    try:
        config = json.loads(meta.get("config", "{}"))
    except json.JSONDecodeError:
        config = None
    if not isinstance(config, dict):
        raise DeepPhotoError(f"{path}: damaged weights file (its config metadata is not a JSON object)")
    return {k: v.float() for k, v in state.items()}, config


def load_into(net: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, name: str) -> torch.nn.Module:
    """Load ``state`` into ``net`` (eval mode), or a one-line error when the tensors do not fit."""
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise DeepPhotoError(
            f"{path}: weights do not fit {name} ({len(missing)} missing, {len(unexpected)} unexpected tensors)"
        )
    return net.eval()


def average_weights(
    paths: list[Path], kind: str, first_architecture: bool = False
) -> tuple[dict[str, torch.Tensor], dict]:
    """The element-wise mean of several ``kind`` weights files of one architecture (a "model
    soup": fine-tunes of one network average into one that is often better than each), in float32,
    with the first file's config. A clear error when they do not share tensors, shapes or config.

    ``first_architecture``: average the first file's network only; tensors that a later file adds
    (a fine-tune that grew an extra decoder level) are left out. Every tensor of the first file
    must still be in each other file with its shape. With two files this is WiSE-FT's midpoint
    (Wortsman et al. 2022): the shipped network and its fine-tune on other data."""
    if len(paths) < 2:
        raise DeepPhotoError("averaging needs at least two weights files")
    states = [read_weights(p, kind) for p in paths]
    first, config = states[0]
    shapes = {k: tuple(v.shape) for k, v in first.items()}
    for path, (state, cfg) in zip(paths[1:], states[1:]):
        theirs = {k: tuple(v.shape) for k, v in state.items()}
        if first_architecture:
            theirs = {k: v for k, v in theirs.items() if k in shapes}
        if theirs != shapes:
            raise DeepPhotoError(f"{path}: its tensors differ from {paths[0]}'s; only one architecture averages")
        same = ("width", "styles", "crp_stages") + (() if first_architecture else ("fine_level",))
        if any(cfg.get(k) != config.get(k) for k in same):
            raise DeepPhotoError(f"{path}: its config differs from {paths[0]}'s ({cfg} vs {config})")
    mean = {k: torch.stack([s[k] for s, _ in states]).mean(0) for k in first}
    return mean, config
