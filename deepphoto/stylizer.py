"""Stylizer: BGR frame of any size in, the frame painted in a style out (same size, uint8)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from deepphoto.engines.base import Engine
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import rgb_planes, to_bgr8
from deepphoto.models.shipped import style_names, style_vector, styles_key

MAX_SIDE = 1920  # larger frames are painted at this size and scaled back (memory, time)
# A style network normalises each feature map, so the painting is as light for a dim photo as for a
# bright one. ``keep_exposure`` gives the photo's exposure back (docs/benchmark/exposure.md).
EXPOSURE = 0.0  # default strength 0: not adopted by the rule in exposure.md (the teacher is exposure-blind too)
REFERENCE_L = 50.0  # mean L* of a normally exposed photo (the median of StyleNet's training content: 50.8)
BAND_STOPS = 0.7  # exposures this close to the reference are left alone (its training content's middle half)
STATS_SIDE = 64  # the photo's light is taken from a copy this long (steady when a small region changes)
# The light is measured on the pixels that are painted and shown (``region_weights``: the background
# for --region background). A region under this share of the frame is not trusted on its own: the
# whole frame is blended in, all of it at a share of 0, none of it from this share up (no jump in a
# stream as a person walks in or out; docs/benchmark/exposure.md, "Measured on the region").
MIN_SHARE = 0.05


def _stats_size(h: int, w: int) -> tuple[int, int]:
    """(width, height) of the small copy the light is measured on."""
    s = min(1.0, STATS_SIDE / max(h, w))
    return (w, h) if s >= 1.0 else (max(1, round(w * s)), max(1, round(h * s)))


def _stats_copy(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    size = _stats_size(h, w)
    return image if size == (w, h) else cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def region_weights(person: np.ndarray | None, region: str) -> np.ndarray | None:
    """Where a frame's light is measured for a painting composited into ``region``: a small copy of
    the background's share of each pixel (1 - ``person``, the person alpha 0-1) for "background", of
    the person's for "person"; None (the whole frame) for "whole" or without a mask."""
    if person is None or region == "whole":
        return None
    small = _stats_copy(np.asarray(person, np.float32))
    return 1.0 - small if region == "background" else small


def _trusted(weights: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    """``weights`` (0-1, any size) at ``size`` (width, height), with the whole frame blended in
    below ``MIN_SHARE``; None where they weigh every pixel alike (the unweighted measure)."""
    w = np.asarray(weights, np.float32)
    if w.shape[:2] != size[::-1]:
        w = cv2.resize(w, size, interpolation=cv2.INTER_AREA)
    w = np.clip(w, 0.0, 1.0).reshape(-1)
    share = float(w.mean())
    if share <= 0.0 or float(w.min()) == float(w.max()):
        return None
    trust = min(1.0, share / MIN_SHARE)
    return w * (trust / share) + (1.0 - trust)  # a mix of the region's pixels and the whole frame's


def mean_lightness(bgr: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean CIELAB L* (0-100) of the middle half of a small copy's pixels (the interquartile mean:
    a small region that changes moves it far less than it moves the mean). ``weights`` (0-1 per
    pixel, any size; ``region_weights``): the middle half of the pixels as weighted."""
    small = _stats_copy(bgr)
    light = cv2.cvtColor(small.astype(np.float32) * (1 / 255), cv2.COLOR_BGR2LAB)[..., 0].reshape(-1)
    w = None if weights is None else _trusted(weights, small.shape[1::-1])
    if w is None:
        light = np.sort(light)
        return float(light[len(light) // 4 : max(1, 3 * len(light) // 4)].mean())
    order = np.argsort(light)
    light, w = light[order], w[order]
    upto = np.cumsum(w)
    lo, hi = 0.25 * upto[-1], 0.75 * upto[-1]
    middle = np.clip(np.minimum(upto, hi) - np.maximum(upto - w, lo), 0.0, None)  # each pixel's weight in it
    return float((middle * light).sum() / middle.sum())


def _luminance_of(lightness: float) -> float:
    """CIE relative luminance Y (0-1) of an L*."""
    return ((lightness + 16) / 116) ** 3 if lightness > 8 else lightness / 903.3


def exposure_stops(photo: np.ndarray, strength: float = 1.0, weights: np.ndarray | None = None) -> float:
    """How many stops (powers of 2 of light) ``photo`` is under (< 0) or over (> 0) a normal exposure,
    beyond ``BAND_STOPS``, times ``strength``: 0 for a normally exposed photo. ``weights``: measured
    on those pixels (``region_weights``; None: the whole photo)."""
    stops = float(np.log2(max(_luminance_of(mean_lightness(photo, weights)), 1e-4) / _luminance_of(REFERENCE_L)))
    return float(np.sign(stops)) * max(0.0, abs(stops) - BAND_STOPS) * strength


def exposure_curve(stops: float) -> np.ndarray:
    """A 256-entry lookup table: sRGB levels with their light multiplied by 2**``stops`` (a gain in
    linear light; brightening rolls off towards white instead of clipping)."""
    v = np.arange(256) / 255
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    gain = 2.0**stops
    lit = linear * gain if gain <= 1 else linear * gain / (1 + (gain - 1) * linear)
    out = np.where(lit <= 0.0031308, lit * 12.92, 1.055 * np.power(lit, 1 / 2.4) - 0.055)
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def keep_exposure(
    photo: np.ndarray, painted: np.ndarray, strength: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """``painted`` (BGR uint8) exposed as ``photo`` is (``strength`` 0-1 of the stops it is under or
    over a normal exposure): one smooth curve over every pixel, from the interquartile mean of a
    small copy of the photo, so a small region changing moves it little. ``weights``: the light is
    measured where the painting is shown (``region_weights``: a bright person in front of a dim
    background no longer lightens its painting); None: the whole photo."""
    stops = exposure_stops(photo, strength, weights) if strength > 0 else 0.0
    return painted if stops == 0.0 else cv2.LUT(painted, exposure_curve(stops))


def make_style_engine(
    backend: str, weights: Path | None = None, threads: int | None = None, spin: bool = True, precision: str = "fp32"
) -> Engine:
    from deepphoto.engines.build import open_engine

    return open_engine("stylenet", backend, precision, weights, threads, spin)


class Stylizer:
    """``style``: a name or a blend ('wave:0.7,scream:0.3'); ``scale`` < 1 paints a smaller copy
    and scales it back up (faster; brush strokes get larger); ``exposure`` (0-1, default
    ``EXPOSURE``): how much of a dim or bright frame's exposure the painting is given back
    (``keep_exposure``)."""

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
        exposure: float = EXPOSURE,
    ) -> None:
        # the styles it paints, each with its user style file's SHA-256 (``styles_key``): the shipped
        # network's are those of the user's styles folder now, the rows its ONNX file is made with
        self.styles = styles_key() if weights is None else tuple((n, "") for n in style_names(weights))
        self.names = [name for name, _ in self.styles]
        self.set_style(style)
        if not 0.1 <= scale <= 1.0:
            raise DeepPhotoError(f"style scale {scale}: must be between 0.1 and 1")
        self.scale = scale
        if not 0.0 <= exposure <= 1.0:
            raise DeepPhotoError(f"exposure {exposure}: must be between 0 and 1")
        self.exposure = exposure
        self.engine = engine or make_style_engine(backend, weights, threads, spin, precision)

    def set_style(self, style: str) -> None:
        self.style = style
        self.vector = self.vector_of(style)

    def vector_of(self, style: str) -> np.ndarray:
        return np.array([style_vector(style, self.names)], np.float32)

    def painter(self, style: str) -> Callable[..., np.ndarray]:
        """An effect that paints frames in ``style`` (sharing this network and its session);
        ``weights``: where the frame's light is measured (``keep_exposure``)."""
        vector = self.vector_of(style)

        def paint(frame: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            return self(frame, vector, weights)

        paint.stylizer = self  # type: ignore[attr-defined]  # reports say which engine paints
        return paint

    def __call__(
        self, frame: np.ndarray, vector: np.ndarray | None = None, weights: np.ndarray | None = None
    ) -> np.ndarray:
        """``frame`` painted; ``weights`` (0-1 per pixel, any size): where its light is measured for
        ``exposure`` (``region_weights``; None: the whole frame)."""
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
            out = self.engine.run(rgb_planes(small), vector)[0]
            # RGB planes in [0, 1] -> BGR uint8, rounded and clipped (OpenCV: 4x numpy's clip-scale-cast).
            styled = cv2.merge([cv2.convertScaleAbs(np.asarray(out[c], np.float32), alpha=255.0) for c in (2, 1, 0)])
        styled = keep_exposure(small, styled, self.exposure, weights)
        return styled if (tw, th) == (w, h) else cv2.resize(styled, (w, h), interpolation=cv2.INTER_LINEAR)
