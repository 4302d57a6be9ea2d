"""ONNX files exported from shipped weights on first use, cached by the weights' hash."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from deepphoto.assets import cache_dir, sha256_of
from deepphoto.errors import DeepPhotoError

ONNX_OPSET = 17


def cached_onnx(weights: Path, tag: str, export: Callable[[Path, Path], object]) -> Path:
    """``export(weights, out)`` once per weights file; later calls return the cached file."""
    if not weights.is_file():
        raise DeepPhotoError(f"{weights}: weights file not found")
    out = cache_dir() / "onnx" / f"{tag}-{sha256_of(weights)[:16]}-op{ONNX_OPSET}.onnx"
    digest = out.with_suffix(".sha256")
    if out.exists() and (not digest.exists() or digest.read_text().strip() != sha256_of(out)):
        print(f"deepphoto: warning: cached {out.name} is damaged; exporting it again", file=sys.stderr)
        out.unlink()
    if not out.exists():
        try:
            export(weights, out)
        except ImportError as exc:
            raise DeepPhotoError(
                f"exporting {weights.name} to ONNX needs torch and onnx (pip install 'deepphoto[export]'): {exc}"
            ) from None
        digest.write_text(sha256_of(out) + "\n")
    return out
