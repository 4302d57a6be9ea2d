"""DeepPhoto: style only part of the picture.

The library under the ``deepphoto`` command: ``Settings`` says what to do, ``Pipeline`` does it to
a stream, a frame or a photo (see ``deepphoto.pipeline``). Imported lazily, so ``import deepphoto``
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["Pipeline", "Settings"]

if TYPE_CHECKING:
    from deepphoto.pipeline import Pipeline
    from deepphoto.settings import Settings


def __getattr__(name: str) -> object:
    if name == "Pipeline":
        from deepphoto.pipeline import Pipeline

        return Pipeline
    if name == "Settings":
        from deepphoto.settings import Settings

        return Settings
    raise AttributeError(f"module 'deepphoto' has no attribute {name!r}")
