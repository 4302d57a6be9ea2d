"""Person segmenters that plug into the pipeline: one interface (``base.PersonSegmenter``), one
registry (``deepphoto.settings.SEGMENTERS``), opened by name with ``open_segmenter``."""

from __future__ import annotations

import importlib

from deepphoto.segmenters.base import PersonSegmenter, SegmenterOptions
from deepphoto.settings import SEGMENTERS, choice

__all__ = ["PersonSegmenter", "SegmenterOptions", "open_segmenter"]


def open_segmenter(name: str, options: SegmenterOptions | None = None) -> PersonSegmenter:
    """The segmenter registered as ``name``, opened with ``options``."""
    module, _, cls = SEGMENTERS[choice("segmenter", name, tuple(SEGMENTERS))].partition(":")
    return getattr(importlib.import_module(module), cls).open(options or SegmenterOptions())
