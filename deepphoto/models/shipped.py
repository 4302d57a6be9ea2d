"""The networks that ship in the package, without PyTorch: their files, their styles, their ONNX.

Each network ships twice: ``NAME.safetensors`` (the trained weights, half precision) and
``NAME.onnx`` (float32, made from them by ``deepphoto export NAME --package``; its metadata holds
the weights' SHA-256, and a test checks both agree). The runtime reads the ONNX file, so a core
install runs without PyTorch; other weights files are exported on first use (that needs torch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from deepphoto.errors import DeepPhotoError, option
from deepphoto.models.onnx_cache import WEIGHTS_HASH_KEY
from deepphoto.settings import EFFECT_NAMES, parse_blend, unknown

if TYPE_CHECKING:
    from deepphoto.models.user_styles import UserStyle

PACKAGE_WEIGHTS = Path(__file__).parent / "weights"
SHIPPED = {name: PACKAGE_WEIGHTS / f"{name}.safetensors" for name in ("lightnet", "stylenet")}


def shipped_onnx(model: str) -> Path:
    return PACKAGE_WEIGHTS / f"{model}.onnx"


_recorded: dict[Path, str] = {}


def onnx_weights_hash(path: Path) -> str:
    """The weights SHA-256 recorded in an ONNX file's metadata ('' when none). Reads the model's
    metadata through ONNX Runtime, so it needs neither torch nor the onnx package."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if path not in _recorded:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        _recorded[path] = session.get_modelmeta().custom_metadata_map.get(WEIGHTS_HASH_KEY, "")
    return _recorded[path]


def style_names(weights: Path | None = None) -> list[str]:
    """Style names held by a StyleNet weights file (read from its metadata; no torch needed);
    without ``weights``, the shipped network's, then the user styles that fit it (``add-style``)."""
    if weights is None:
        return _names_in(SHIPPED["stylenet"]) + [s.name for s in user_styles_for()]
    return _names_in(Path(weights))


def styles_key() -> tuple[tuple[str, str], ...]:
    """The styles a network opened now paints (``style_names``), each with the SHA-256 of its user
    style file ('' for a shipped style): another key after ``add-style``, ``add-style --replace``
    (the same names, other rows) or ``remove-style``."""
    from deepphoto.assets import sha256_of

    shipped = tuple((name, "") for name in _names_in(SHIPPED["stylenet"]))
    return shipped + tuple((s.name, sha256_of(s.path)) for s in user_styles_for())


def user_styles_for() -> list[UserStyle]:
    """The user styles (``deepphoto.models.user_styles``) that fit the shipped StyleNet; each
    other one is skipped with a warning, once."""
    from deepphoto.assets import sha256_of
    from deepphoto.models import user_styles

    path = SHIPPED["stylenet"]
    found = user_styles.user_styles()
    if not found or not path.is_file():
        return []
    names, shapes = _styles_in(path)
    ok, why = user_styles.usable(found, sha256_of(path), names, shapes)
    for line in why:
        user_styles.warn_once(line)
    return ok


def with_user_styles(onnx_path: Path) -> Path:
    """The shipped StyleNet's ONNX file ``onnx_path`` with the user styles' rows appended (itself
    when there are none)."""
    from deepphoto.models.user_styles import onnx_with_user_styles

    return onnx_with_user_styles(onnx_path, user_styles_for())


def _names_in(path: Path) -> list[str]:
    return _styles_in(path)[0]


def _styles_in(path: Path) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """From a StyleNet weights file's header: its style names, and one style's row shape for each
    ``*.gamma`` / ``*.beta``."""
    from safetensors import safe_open

    if not path.is_file():
        return [], {}
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            shapes = {k: tuple(f.get_slice(k).get_shape()[1:]) for k in f.keys() if k.endswith((".gamma", ".beta"))}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise DeepPhotoError(f"{path}: not a readable safetensors weights file ({exc})") from None
    if meta.get("kind") != "stylenet":
        raise DeepPhotoError(f"{path}: not a stylenet weights file")
    return list(json.loads(meta.get("config", "{}")).get("styles", [])), shapes


def style_vector(style: str, names: list[str]) -> list[float]:
    """'wave' or a blend 'wave:0.7,scream:0.3' -> blend weights in the network's style order."""
    weights = [0.0] * len(names)
    parts = parse_blend(style)  # amounts: finite, 0 or more, adding up to more than 0
    top = max(value for _, value in parts)  # amounts as fractions of the largest: huge ones add up finitely
    for name, value in parts:
        if name not in names:
            listed = ", ".join(names) if names else "none are installed"
            if name in EFFECT_NAMES:
                effect = option("effect", name)
                raise DeepPhotoError(f"unknown style {name!r} (an effect: {effect}): choose from {listed}")
            raise DeepPhotoError(unknown("style", name, names, listed))
        weights[names.index(name)] += value / top
    total = sum(weights)
    if total <= 0:
        raise DeepPhotoError(f"style {style!r}: blend amounts must add up to more than 0")
    return [w / total for w in weights]
