"""ONNX files exported from shipped weights on first use, cached by the weights' hash."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from deepphoto.assets import cache_dir, sha256_of, stand_in, writable_cache
from deepphoto.errors import DeepPhotoError
from deepphoto.stream.output_safety import discard, temporary_name

if TYPE_CHECKING:
    import torch

ONNX_OPSET = 17
WEIGHTS_HASH_KEY = "deepphoto.weights_sha256"  # ONNX metadata: which weights the file was made from


def cached_onnx(weights: Path, tag: str, export: Callable[[Path, Path], object]) -> Path:
    """``export(weights, out)`` once per weights file; later calls return the cached file (a cache
    that cannot be written is still read; what is exported then is kept for this process only)."""
    if not weights.is_file():
        raise DeepPhotoError(f"{weights}: weights file not found")
    name = f"{tag}-{sha256_of(weights)[:16]}-op{ONNX_OPSET}.onnx"
    for folder in (cache_dir() / "onnx", stand_in("onnx")):
        if folder is not None and _intact(folder / name):
            return folder / name
    out = writable_cache("onnx") / name
    digest = out.with_suffix(".sha256")
    if out.exists():
        print(f"deepphoto: warning: cached {out.name} is damaged; exporting it again", file=sys.stderr)
        discard(out)
    if not out.exists():
        try:
            export(weights, out)
        except ImportError as exc:
            raise DeepPhotoError(
                f"exporting {weights.name} to ONNX needs torch and onnx (pip install -e '.[export]'): {exc}"
            ) from None
        digest.write_text(sha256_of(out) + "\n")
    return out


def _intact(out: Path) -> bool:
    """Whether a cached export exists and matches the digest recorded beside it."""
    digest = out.with_suffix(".sha256")
    try:
        return out.is_file() and digest.read_text().strip() == sha256_of(out)
    except OSError:
        return False


def export_module(
    module: torch.nn.Module,
    example: tuple[torch.Tensor, ...],
    out: Path,
    input_names: list[str],
    output_names: list[str],
    dynamic_axes: dict[str, dict[int, str]],
) -> Path:
    """torch.onnx.export to a temporary name, renamed when complete."""
    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(out)  # unique: two processes exporting one file never share it
    try:
        with warnings.catch_warnings():  # the exporter's notes on constant folding are not for users
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(),
                example,
                str(tmp),
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=dynamic_axes,
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
        tmp.replace(out)
    finally:
        discard(tmp)
    return out


def stamp_weights_hash(onnx_path: Path, weights: Path) -> None:
    """Record in the ONNX file's metadata which weights it was made from (their SHA-256)."""
    import onnx

    model = onnx.load(str(onnx_path))
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = WEIGHTS_HASH_KEY, sha256_of(weights)
    tmp = temporary_name(onnx_path)
    try:
        onnx.save(model, str(tmp))
        tmp.replace(onnx_path)
    finally:
        discard(tmp)
