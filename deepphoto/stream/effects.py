"""Classic effects users of every background filter expect, beside the neural styles.

Each effect maps a BGR uint8 frame to a BGR uint8 frame of the same size.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError, option
from deepphoto.settings import EFFECT_NAMES, IMAGE_SUFFIXES
from deepphoto.stream.person_fill import person_filled

Effect = Callable[[np.ndarray], np.ndarray]


BLUR_EDGE = 0.25  # a reduced pixel this much person or more lends the background blur none of its colour
BLUR_PLAIN = 1e-3  # the plain blur's weight beside the background's (it speaks where no background is near)
FILTER_FILL_FROM = 0.02  # a photo's filter sees the person filled in from this alpha: its soft edge too
BLUR_REDUCE = 4  # a frame of 640x480 or less is blurred at a quarter of its size
BLUR_AREA = 640 * 480  # a larger one at the same share of its picture: reduced to 160x120's area


def blur(strength: int = 21) -> Effect:
    """Background blur: downscale, blur, upscale (a wide kernel's look at a fraction of the cost).

    Given the person alpha (``person``, 0-1, any size of the frame's shape), the blur is of the
    background alone (a normalised blur: the mean of nearby background pixels): blurring the whole
    frame spread the person's colours out over the background next to them, a glow round a light
    face on a dark background a demanding user sees at once (picture review, hunt 28).

    The blur reaches the same share of the picture at any size: a frame larger than 640x480 is
    reduced to 160x120's area (a 12-megapixel photo's kernel of 20 pixels, 640x480's, left its
    background almost sharp: hunt 35)."""
    k = max(3, (strength // 4) | 1)

    def apply(frame: np.ndarray, person: np.ndarray | None = None) -> np.ndarray:
        h, w = frame.shape[:2]
        reduce = BLUR_REDUCE * max(1.0, float(np.sqrt(w * h / BLUR_AREA)))
        size = (max(1, int(w / reduce)), max(1, int(h / reduce)))
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        blurred = cv2.GaussianBlur(small, (k, k), 0)
        if person is not None:
            blurred = _background_blur(small, blurred, cv2.resize(person, size, interpolation=cv2.INTER_AREA), k)
        return cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR)

    apply.background_blur = True  # type: ignore[attr-defined]  # takes the person alpha (FrameProcessor)
    return apply


def _background_blur(small: np.ndarray, blurred: np.ndarray, person: np.ndarray, k: int) -> np.ndarray:
    """``small`` (BGR uint8) blurred with a ``k``-pixel Gaussian from its background pixels only
    (``person``, 0-1 at its size: a pixel ``BLUR_EDGE`` person or more counts as none); deep
    inside the person, where no background is near, it turns smoothly into ``blurred`` (the
    plain blur; shown under the person, if at all)."""
    weight = np.clip(1.0 - person.astype(np.float32) / BLUR_EDGE, 0.0, 1.0)
    if float(weight.min()) >= 1.0:  # no person: the plain blur
        return blurred
    spread = cv2.GaussianBlur(small.astype(np.float32) * weight[..., None], (k, k), 0)
    total = cv2.GaussianBlur(weight, (k, k), 0) + BLUR_PLAIN
    mixed = (spread + BLUR_PLAIN * blurred.astype(np.float32)) / total[..., None]
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def _at_scale(fn: Effect, scale: float) -> Effect:
    """Run a slow filter at a reduced size and scale the result back up.

    Given the person alpha (``person``: a photo's background only, ``FrameProcessor.fill_person``),
    the filter is run on the photo with a band along the person's outline filled in by the
    background around them (``person_fill``), as a style is, from its soft edge in
    (``FILTER_FILL_FROM``: from 0.5 the pencil drew the fill's own edge there): the cartoon drew its
    black outline round the person, half of it on the background shown (a grey rim: 2-6 pixels out
    20 L* off the photo where 7 further out; now 9; hunt 35)."""

    def apply(frame: np.ndarray, person: np.ndarray | None = None) -> np.ndarray:
        if person is not None:
            frame = person_filled(frame, person, threshold=FILTER_FILL_FROM)
        h, w = frame.shape[:2]
        if min(h, w) * scale < 16:
            return fn(frame)
        small = cv2.resize(frame, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        return cv2.resize(fn(small), (w, h), interpolation=cv2.INTER_LINEAR)

    apply.fills_person = True  # type: ignore[attr-defined]  # takes a photo's person alpha (FrameProcessor)
    return apply


def cartoon() -> Effect:
    return _at_scale(lambda f: cv2.stylization(f, sigma_s=60, sigma_r=0.45), 0.5)


def pencil() -> Effect:
    return _at_scale(lambda f: cv2.pencilSketch(f, sigma_s=60, sigma_r=0.07, shade_factor=0.05)[1], 0.5)


def watercolor() -> Effect:
    return _at_scale(lambda f: cv2.edgePreservingFilter(f, flags=cv2.RECURS_FILTER, sigma_s=60, sigma_r=0.4), 0.5)


def detail() -> Effect:
    return _at_scale(lambda f: cv2.detailEnhance(f, sigma_s=10, sigma_r=0.15), 0.5)


def _cover(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Scale to cover w x h and crop the centre (no bars, no distortion)."""
    ih, iw = img.shape[:2]
    s = max(w / iw, h / ih)
    resized = cv2.resize(img, (max(w, round(iw * s)), max(h, round(ih * s))), interpolation=cv2.INTER_AREA)
    y, x = (resized.shape[0] - h) // 2, (resized.shape[1] - w) // 2
    return resized[y : y + h, x : x + w]


class ReplaceBackground:
    """Another picture or video behind the person; a video loops."""

    from_frame = False  # its picture is not made from the frame (a transparent photo's on white)

    def __init__(self, path: Path) -> None:
        from deepphoto.frames import read_image
        from deepphoto.stream.sources import open_source

        self.path = Path(path)
        self.still: np.ndarray | None = None
        self.source = None
        if self.path.suffix.lower() in IMAGE_SUFFIXES:
            self.still = read_image(self.path)
        else:
            self._open = lambda: open_source(str(self.path))
            self.source = self._open()
            frames = iter(self.source)
            first = next(frames, None)  # now, not at the first frame: a video that cannot be decoded
            if first is None:  # is refused before any output is written
                self.close()
                raise DeepPhotoError(f"{self.path}: background video has no frame that can be decoded")
            self.frames = itertools.chain([first], frames)
        self._cache: tuple[tuple[int, int], np.ndarray] | None = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        if self.still is not None:
            if self._cache is None or self._cache[0] != (w, h):
                self._cache = ((w, h), _cover(self.still, w, h))
            return self._cache[1]
        nxt = next(self.frames, None)
        if nxt is None:  # loop: open it again from the start
            self.close()
            self.source = self._open()
            self.frames = iter(self.source)
            nxt = next(self.frames, None)
            if nxt is None:
                raise DeepPhotoError(f"{self.path}: background video has no frame that can be decoded")
        return _cover(nxt.image, w, h)

    def close(self) -> None:
        if self.source is not None:
            self.source.close()


def close_effect(effect: Effect) -> None:
    """Release what an effect holds open (a background video); a no-op for the others."""
    close = getattr(effect, "close", None)
    if callable(close):
        close()


EFFECTS: dict[str, Callable[[], Effect]] = {
    "blur": blur,
    "grey": lambda: grey,
    "cartoon": cartoon,
    "pencil": pencil,
    "watercolor": watercolor,
    "detail": detail,
}


def make_effect(name: str, background: Path | None = None) -> Effect:
    if name == "replace":
        if background is None:
            raise DeepPhotoError(f"effect 'replace' needs {option('background', 'IMAGE_OR_VIDEO', placeholder=True)}")
        return ReplaceBackground(background)
    if name not in EFFECTS:
        raise DeepPhotoError(f"unknown effect {name!r}: choose from {', '.join(EFFECT_NAMES)}")
    return EFFECTS[name]()
