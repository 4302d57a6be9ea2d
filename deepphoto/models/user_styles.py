"""User styles: styles ``deepphoto add-style`` learnt from a painting, kept in the user's data folder.

StyleNet holds its styles as rows: every conditional instance norm has one row of scales
(``<layer>.gamma``) and one of shifts (``<layer>.beta``) per style. A user style is one more row
for each, learnt with every other weight of the shipped network frozen, so it is small:

- ``<data>/styles/<name>.safetensors``  the rows, float32, shape (C,) per tensor; metadata: kind
  ``stylenet-style``, the name, a title, ``base`` (the SHA-256 of the StyleNet weights it was
  learnt on) and how it was learnt;
- ``<data>/styles/<name>.jpg``          the painting (at most 512 pixels on its long side).

``<data>`` is ``$DEEPPHOTO_DATA_DIR``, else ``$XDG_DATA_HOME/deepphoto``, else
``~/.local/share/deepphoto``: never the installed package. At run time the rows are appended to the
shipped ONNX file's ``*.gamma`` / ``*.beta`` initializers and its ``style`` input gets a column per
user style (the onnx package and numpy, no PyTorch); that file is cached by content. A user style
learnt on other weights than the shipped ones (after an upgrade) no longer fits and is skipped
with a warning. No PyTorch here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepphoto.assets import given_folder, home
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import PAINTING_LONG_SIDE
from deepphoto.settings import EFFECT_NAMES
from deepphoto.stream.output_safety import discard, temporary_name

KIND = "stylenet-style"
NAME_RULE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
ROW_LIMIT = 1e3  # a learnt row's scales and shifts are a few units; far larger ones paint black
PAINTING_SIDE = PAINTING_LONG_SIDE  # the painting kept beside the rows, long side at most
STYLE_INPUT = "style"


def data_dir() -> Path:
    """``$DEEPPHOTO_DATA_DIR``, else ``$XDG_DATA_HOME/deepphoto``, else ``~/.local/share/deepphoto``
    (a relative ``$XDG_DATA_HOME`` is ignored, as the XDG specification says: the styles would move
    with the current folder)."""
    if os.environ.get("DEEPPHOTO_DATA_DIR"):
        return given_folder(os.environ["DEEPPHOTO_DATA_DIR"])
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else home() / ".local" / "share"
    return base / "deepphoto"


def styles_dir() -> Path:
    return data_dir() / "styles"


@dataclass(frozen=True)
class UserStyle:
    name: str
    path: Path
    title: str
    base: str  # SHA-256 of the StyleNet weights the rows were learnt on
    rows: dict[str, np.ndarray] = field(repr=False)  # '<layer>.gamma' / '<layer>.beta' -> (C,) float32
    meta: dict = field(repr=False, default_factory=dict)

    @property
    def painting(self) -> Path:
        return self.path.with_suffix(".jpg")


def check_name(name: str, taken: list[str] | tuple[str, ...] = ()) -> str:
    """A new style's name: lower-case letters, digits and '-', 1 to 40 characters, not ``taken``."""
    if not NAME_RULE.match(name or ""):
        raise DeepPhotoError(
            f"style name {name!r}: use 1 to 40 lower-case letters, digits and '-', starting with a letter or digit"
        )
    if name in taken:
        raise DeepPhotoError(f"style name {name!r} is taken (see 'deepphoto styles'): choose another name")
    return name


def read_user_style(path: Path) -> UserStyle:
    """One user style file, or a one-line error."""
    from safetensors import safe_open

    if not NAME_RULE.match(path.stem):  # '--style a,b' or 'x:1' would be read as a blend: never chosen
        raise DeepPhotoError(
            f"{path}: {path.stem!r} is not a style name (1 to 40 lower-case letters, digits and '-', starting "
            "with a letter or digit): rename the file (and its .jpg) or remove it"
        )
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a folder; a pipe, which would be waited on for ever
            raise DeepPhotoError(f"{path}: not a user style (not a regular file)")
        with open(path, "rb"):  # safetensors reports a file it may not read as missing
            pass
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            rows = {k: np.asarray(f.get_tensor(k), np.float32) for k in f.keys()}  # noqa: SIM118
    except DeepPhotoError:
        raise
    except Exception as exc:  # safetensors raises its own error types for damaged files
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise DeepPhotoError(f"{path}: not a readable user style ({why})") from None
    if meta.get("kind") != KIND or meta.get("name") != path.stem:
        raise DeepPhotoError(f"{path}: not a user style file (kind {meta.get('kind')!r}, name {meta.get('name')!r})")
    if not rows or any(v.ndim != 1 or not np.isfinite(v).all() for v in rows.values()):
        raise DeepPhotoError(f"{path}: its rows are not finite vectors")
    if any(v.size and float(np.abs(v).max()) > ROW_LIMIT for v in rows.values()):
        raise DeepPhotoError(f"{path}: its rows are out of range (above {ROW_LIMIT:g}): a damaged file?")
    return UserStyle(path.stem, path, meta.get("title", path.stem), meta.get("base", ""), rows, meta)


_warned: set[str] = set()


def warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        print(f"deepphoto: warning: {text}", file=sys.stderr)


def user_styles(folder: Path | None = None) -> list[UserStyle]:
    """Every readable user style, by name; a damaged file is skipped with a warning (once)."""
    if folder is None:
        try:
            folder = styles_dir()
        except DeepPhotoError:  # no home folder: none of a user's own (add-style says why)
            return []
    try:  # a folder that cannot be read would hide its styles without a word ('unknown style')
        names = sorted(n for n in os.listdir(folder) if n.endswith(".safetensors") and not n.startswith("."))
    except FileNotFoundError:
        return []
    except OSError as exc:
        warn_once(f"{folder}: cannot be read ({exc.strerror or exc}): no user styles (see DEEPPHOTO_DATA_DIR)")
        return []
    found = []
    for path in (folder / name for name in names):
        try:
            found.append(read_user_style(path))
        except DeepPhotoError as exc:
            warn_once(f"{exc}; skipped")
    return found


def usable(
    styles: list[UserStyle], base: str, shipped: list[str], shapes: dict[str, tuple[int, ...]] | None = None
) -> tuple[list[UserStyle], list[str]]:
    """(the styles that fit the network whose weights have SHA-256 ``base``, whose names are
    ``shipped`` and whose rows have ``shapes`` (one row's shape by key; None: not checked), why each
    other one does not)."""
    ok, why = [], []
    for s in styles:
        if s.base != base:
            why.append(f"user style {s.name!r} was learnt on other StyleNet weights: run 'deepphoto add-style' again")
        elif shapes is not None and {k: v.shape for k, v in s.rows.items()} != shapes:
            # one damaged file would otherwise stop every style, the shipped ones too, from loading
            why.append(
                f"user style {s.name!r}: its rows do not fit the shipped StyleNet (a damaged file?): "
                f"'deepphoto remove-style {s.name}' and add it again"
            )
        elif s.name in shipped:
            why.append(f"user style {s.name!r} has the name of a shipped style: remove it and add it under another")
        elif s.name in EFFECT_NAMES:  # listed beside the effect, and 'edit --style blur' said "blur" as it does
            why.append(
                f"{s.path}: user style {s.name!r} has the name of an effect (--effect {s.name}), which add-style "
                "refuses: rename the file (and its .jpg) or remove it; skipped"
            )
        else:
            ok.append(s)
    return ok, why


def writable_styles_dir(folder: Path | None = None) -> Path:
    """The user styles' folder, made if need be and shown to take a file (``add-style`` asks before
    its minutes of learning, not after them); a one-line error otherwise."""
    folder = folder or styles_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = temporary_name(folder / "write-test")
        try:
            probe.write_bytes(b"")
        finally:
            discard(probe)
    except OSError as exc:
        raise DeepPhotoError(f"{folder}: cannot be written ({exc.strerror or exc}); set DEEPPHOTO_DATA_DIR") from None
    return folder


def save_user_style(
    name: str,
    rows: dict[str, np.ndarray],
    base: str,
    painting_bgr: np.ndarray,
    meta: dict,
    folder: Path | None = None,
    replace: bool = True,
) -> Path:
    """Write ``<name>.jpg`` (the painting, small) and ``<name>.safetensors`` (last: its presence means
    the style is complete), each under a temporary name first. Without ``replace`` a style of that
    name, even one another job saved meanwhile, is never replaced, nor its painting: a one-line error
    instead (the style file then takes its name first, by a link, and the painting follows it)."""
    import cv2
    from safetensors.numpy import save_file

    folder = writable_styles_dir(folder)
    path = folder / f"{name}.safetensors"
    taken = DeepPhotoError(
        f"user style {name!r} was added meanwhile (another add-style?) and is not replaced: "
        "run again with another --name, or --replace (the teacher's paintings are cached)"
    )
    if not replace and os.path.lexists(path):
        raise taken
    h, w = painting_bgr.shape[:2]
    s = min(1.0, PAINTING_SIDE / max(h, w))
    small = cv2.resize(painting_bgr, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise DeepPhotoError("the painting could not be encoded as JPEG")
    tensors = {k: np.ascontiguousarray(v, np.float32) for k, v in rows.items()}
    text = {"kind": KIND, "name": name, "base": base, **{k: str(v) for k, v in meta.items()}}
    painting = path.with_suffix(".jpg")
    painting_tmp, style_tmp = temporary_name(painting), temporary_name(path)
    try:
        painting_tmp.write_bytes(jpeg.tobytes())
        save_file(tensors, str(style_tmp), metadata=text)
        if replace:  # the painting first: the style file's presence means the style is complete
            painting_tmp.replace(painting)
            style_tmp.replace(path)
        else:  # the name claimed first (another job's painting is never replaced), then its painting
            if not _link(style_tmp, path):
                raise taken
            painting_tmp.replace(painting)
    finally:
        discard(painting_tmp)
        discard(style_tmp)
    return path


def _link(tmp: Path, target: Path) -> bool:
    """Give the finished ``tmp`` the name ``target`` unless that name is taken (False then), with
    no window between a check and the move."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system
        if os.path.lexists(target):
            return False
        tmp.replace(target)
    return True


def remove_user_style(name: str, folder: Path | None = None) -> Path:
    folder = folder or styles_dir()
    path = folder / f"{name}.safetensors"
    if not NAME_RULE.match(name or "") or not path.is_file():
        have = ", ".join(s.name for s in user_styles(folder)) or "there are none"
        raise DeepPhotoError(f"no user style {name!r} (user styles: {have})")
    path.unlink()
    path.with_suffix(".jpg").unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------- the ONNX file with the rows


def _key(base_onnx: Path, styles: list[UserStyle]) -> str:
    from deepphoto.assets import sha256_of

    h = hashlib.sha256(sha256_of(base_onnx).encode())
    for s in styles:
        h.update(s.name.encode() + b"\0" + sha256_of(s.path).encode())
    return h.hexdigest()[:16]


def onnx_with_user_styles(base_onnx: Path, styles: list[UserStyle]) -> Path:
    """``base_onnx`` (a StyleNet ONNX file) with one more style per user style, in that order;
    made once per content and kept in ``<cache>/onnx`` (this process's temporary folder when
    the cache cannot be written)."""
    from deepphoto.assets import cache_dir, sha256_of, stand_in, writable_cache

    if not styles:
        return base_onnx
    name = f"stylenet-user-{_key(base_onnx, styles)}.onnx"
    for folder in (cache_dir() / "onnx", stand_in("onnx")):
        if folder is not None and _intact(folder / name):
            return folder / name
    out = writable_cache("onnx") / name
    model = extended_model(base_onnx, styles)
    tmp = temporary_name(out)
    try:
        tmp.write_bytes(model.SerializeToString())
        tmp.replace(out)
    finally:
        discard(tmp)
    out.with_suffix(".sha256").write_text(sha256_of(out) + "\n")
    return out


def _intact(path: Path) -> bool:
    from deepphoto.assets import sha256_of

    try:
        return path.is_file() and path.with_suffix(".sha256").read_text().strip() == sha256_of(path)
    except OSError:
        return False


def extended_model(base_onnx: Path, styles: list[UserStyle]) -> object:
    """The ONNX model (``onnx.ModelProto``) of ``base_onnx`` with the user styles' rows appended."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(base_onnx))
    graph = model.graph
    style_input = next((i for i in graph.input if i.name == STYLE_INPUT), None)
    if style_input is None:
        raise DeepPhotoError(f"{base_onnx}: no '{STYLE_INPUT}' input: not a StyleNet ONNX file")
    dim = style_input.type.tensor_type.shape.dim[1]
    count = dim.dim_value
    rows = {t.name: t for t in graph.initializer if t.name.endswith((".gamma", ".beta"))}
    if not count or not rows or any(t.dims[0] != count for t in rows.values()):
        raise DeepPhotoError(f"{base_onnx}: its style rows do not have one row per style")
    for s in styles:
        if set(s.rows) != set(rows) or any(s.rows[k].shape[0] != rows[k].dims[1] for k in rows):
            raise DeepPhotoError(f"{s.path}: its rows do not fit {base_onnx.name}")
    for key, tensor in rows.items():
        table = numpy_helper.to_array(tensor).astype(np.float32)
        table = np.concatenate([table, *(s.rows[key][None] for s in styles)])
        tensor.CopyFrom(numpy_helper.from_array(table, key))
    dim.dim_value = count + len(styles)
    del graph.value_info[:]  # shapes inferred at export named the old style count
    entry = model.metadata_props.add()
    entry.key, entry.value = "deepphoto.user_styles", json.dumps([s.name for s in styles])
    return model
