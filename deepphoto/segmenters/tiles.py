"""Person probability of a very wide or very tall picture, window by window.

A segmenter takes its input squashed to a square: a 3000x300 panorama of five people becomes a
strip of people a few pixels wide, and none is found. Past ``MAX_ASPECT`` the picture is cut along
its long side into overlapping windows of ``WINDOW_ASPECT`` (a shape the network reads well), each
segmented on its own, and their probabilities joined, each window weighed down towards its inner
edges so a seam never shows. Chosen by measurement (docs/benchmark/wide-photos.md).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from deepphoto.segmenters.base import PersonSegmenter

MAX_ASPECT = 1.9  # long side / short side above which a video frame is cut into windows (16:9, 1.85 kept whole)
PHOTO_MAX_ASPECT = 1.6  # ... and a photo of edit or the web page (a window costs a network call)
WINDOW_ASPECT = 1.5  # each window's long side / short side
OVERLAP = 0.25  # share of a window its neighbour covers too
MAX_WINDOWS = 12  # at most this many (a longer strip gets longer windows): each is a network call
MIN_SIDE = 32  # a picture narrower than this is not cut (a strip of pixels holds no person to find)


def needs_windows(shape: tuple[int, ...], max_aspect: float = MAX_ASPECT) -> bool:
    """Whether a picture of ``shape`` (height, width, ...) is cut into windows."""
    h, w = shape[:2]
    return min(h, w) >= MIN_SIDE and max(h, w) > max_aspect * min(h, w)


def window_starts(length: int, window: int, overlap: float = OVERLAP) -> list[int]:
    """Starts of windows of ``window`` pixels covering ``length`` pixels, neighbours sharing at
    least ``overlap`` of a window, spread evenly from 0 to ``length - window``."""
    if window >= length:
        return [0]
    count = math.ceil((length - window) / (window * (1.0 - overlap))) + 1
    return [round(i * (length - window) / (count - 1)) for i in range(count)]


def _ramp(size: int, start: int, stop: int, low_edge: bool, high_edge: bool, ramp: float) -> np.ndarray:
    """Weights along a window's long axis (``start``-``stop`` of ``size`` low-resolution pixels):
    1 inside, falling linearly over ``ramp`` pixels towards an inner edge (not at the picture's)."""
    x = np.arange(start, stop, dtype=np.float32) + 0.5
    weight = np.ones(stop - start, np.float32)
    if not low_edge:
        weight = np.minimum(weight, (x - start) / ramp)
    if not high_edge:
        weight = np.minimum(weight, (stop - x) / ramp)
    return np.maximum(weight, 1e-3)


def windowed_probability(segmenter: PersonSegmenter, frame: np.ndarray) -> np.ndarray:
    """Person probability of ``frame`` (BGR) at low resolution: the network's output's short side,
    and a long side in the picture's proportion, from overlapping windows along its long side."""
    h, w = frame.shape[:2]
    wide = w >= h
    length, side = (w, h) if wide else (h, w)
    # 1.5:1 windows, or longer ones where that many would be more than MAX_WINDOWS
    window = min(length, max(round(WINDOW_ASPECT * side), math.ceil(length / (1 + (MAX_WINDOWS - 1) * (1 - OVERLAP)))))
    starts = window_starts(length, window)
    total = weights = None
    scale = 0.0
    for i, start in enumerate(starts):
        crop = frame[:, start : start + window] if wide else frame[start : start + window]
        prob = segmenter.infer(segmenter.prepare(crop)).astype(np.float32)
        if total is None:  # the joined map: the output's short side, the picture's proportions
            low_side = min(prob.shape)
            scale = low_side / side
            low_length = max(1, round(length * scale))
            total = np.zeros((low_side, low_length) if wide else (low_length, low_side), np.float32)
            weights = np.zeros_like(total)
        assert weights is not None
        a = min(round(start * scale), low_length - 1)
        b = max(a + 1, min(low_length, round((start + window) * scale)))
        size = (b - a, low_side) if wide else (low_side, b - a)
        part = cv2.resize(prob, size, interpolation=cv2.INTER_LINEAR)
        ramp = _ramp(low_length, a, b, i == 0, i == len(starts) - 1, max(1.0, OVERLAP * (b - a)))
        if wide:
            total[:, a:b] += part * ramp[None, :]
            weights[:, a:b] += ramp[None, :]
        else:
            total[a:b] += part * ramp[:, None]
            weights[a:b] += ramp[:, None]
    assert total is not None and weights is not None
    return total / np.maximum(weights, 1e-6)


def person_probability(segmenter: PersonSegmenter, frame: np.ndarray) -> np.ndarray:
    """The segmenter's low-resolution person probability of ``frame``, by windows where it is very
    wide or very tall (``needs_windows``), else of the whole picture as the network takes it."""
    if needs_windows(frame.shape):
        return windowed_probability(segmenter, frame)
    return segmenter.infer(segmenter.prepare(frame))
