"""Stylizer: BGR frame of any size in, the frame painted in a style out (same size, uint8)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from deepphoto.engines.base import Engine
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import to_bgr8
from deepphoto.models.shipped import style_names, style_vector

MAX_SIDE = 1920  # larger frames are painted at this size and scaled back (memory, time)


def make_style_engine(
    backend: str, weights: Path | None = None, threads: int | None = None, spin: bool = True, precision: str = "fp32"
) -> Engine:
    from deepphoto.engines.build import open_engine

    return open_engine("stylenet", backend, precision, weights, threads, spin)


class Stylizer:
    """``style``: a name or a blend ('wave:0.7,scream:0.3'); ``scale`` < 1 paints a smaller copy
    and scales it back up (faster; brush strokes get larger)."""

    def __init__(
        self,
        style: str,
        backend: str = "onnx",
        weights: Path | None = None,
        scale: float = 1.0,
        threads: int | None = None,
        engine: Engine | None = None,
        spin: bool = True,
        precision: str = "fp32",
    ) -> None:
        self.names = style_names(weights)
        self.set_style(style)
        if not 0.1 <= scale <= 1.0:
            raise DeepPhotoError(f"style scale {scale}: must be between 0.1 and 1")
        self.scale = scale
        self.engine = engine or make_style_engine(backend, weights, threads, spin, precision)

    def set_style(self, style: str) -> None:
        self.style = style
        self.vector = self.vector_of(style)

    def vector_of(self, style: str) -> np.ndarray:
        return np.array([style_vector(style, self.names)], np.float32)

    def painter(self, style: str) -> Callable[[np.ndarray], np.ndarray]:
        """An effect that paints frames in ``style`` (sharing this network and its session)."""
        vector = self.vector_of(style)

        def paint(frame: np.ndarray) -> np.ndarray:
            return self(frame, vector)

        paint.stylizer = self  # type: ignore[attr-defined]  # reports say which engine paints
        return paint

    def __call__(self, frame: np.ndarray, vector: np.ndarray | None = None) -> np.ndarray:
        bgr = to_bgr8(frame)
        h, w = bgr.shape[:2]
        # Multiples of 8, at least 16 (its 1/8 level needs 2 pixels), at most MAX_SIDE on the long side.
        scale = min(self.scale, MAX_SIDE / max(w, h))
        tw, th = (max(16, round(v * scale / 8) * 8) for v in (w, h))
        small = bgr if (tw, th) == (w, h) else cv2.resize(bgr, (tw, th), interpolation=cv2.INTER_AREA)
        vector = self.vector if vector is None else vector
        if getattr(self.engine, "device", "cpu") == "cuda" and hasattr(self.engine, "run_image"):
            styled = self.engine.run_image(small, vector)  # converted on the GPU: 8-bit pictures cross
        else:
            rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32).transpose(2, 0, 1)[None] * (1 / 255)
            out = self.engine.run(rgb, vector)[0]
            # RGB planes in [0, 1] -> BGR uint8, rounded and clipped (OpenCV: 4x numpy's clip-scale-cast).
            styled = cv2.merge([cv2.convertScaleAbs(np.asarray(out[c], np.float32), alpha=255.0) for c in (2, 1, 0)])
        return styled if (tw, th) == (w, h) else cv2.resize(styled, (w, h), interpolation=cv2.INTER_LINEAR)
