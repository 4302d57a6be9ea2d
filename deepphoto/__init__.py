"""DeepPhoto: style only part of the picture.

The library under the ``deepphoto`` command: ``Settings`` says what to do, ``Pipeline`` does it to
a stream, a frame or a photo (see ``deepphoto.pipeline``); what it refuses is a one-line
``DeepPhotoError`` (a frame's, ``FrameError``, a ``ValueError`` too). Imported lazily, so ``import deepphoto``
stays cheap.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

# ONNX Runtime (1.32, pinned here, and other recent releases) sends usage telemetry to Microsoft on
# Linux and macOS unless this is set before it starts, keeps a device identifier in ~/.cache/Microsoft,
# and prints a coloured warning on every run where that folder cannot be written (a read-only home).
# DeepPhoto edits people's photos and needs no network beyond PyPI: set here, before any module
# imports it (Ray workers and subprocesses inherit it); a value the user set is kept.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__all__ = ["DeepPhotoError", "FrameError", "Pipeline", "Settings"]

if TYPE_CHECKING:
    from deepphoto.errors import DeepPhotoError, FrameError
    from deepphoto.pipeline import Pipeline
    from deepphoto.settings import Settings


def __getattr__(name: str) -> object:
    if name in ("DeepPhotoError", "FrameError"):  # what the library raises, caught as the README says
        from deepphoto import errors

        return getattr(errors, name)
    if name == "Pipeline":
        from deepphoto.pipeline import Pipeline

        return Pipeline
    if name == "Settings":
        from deepphoto.settings import Settings

        return Settings
    raise AttributeError(f"module 'deepphoto' has no attribute {name!r}")
