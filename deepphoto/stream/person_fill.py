"""The person filled with the background around them, for a painting of a photo's background only.

A style network paints the whole picture, and it answers a strong outline with strong strokes on
both sides of it: where only the background is painted, the person's outline left a rim of paint
around them, 10-15 pixels wide (a picture review: 15 of 47 photos 6 L* or more off the background
a little further out). The painter is given the photo with the person replaced by a smooth fill
of the colours around them, so it sees no outline there and paints the background up to the
person as it paints it elsewhere; the person is shown unpainted over it anyway. (A stream does not
fill: docs/benchmark/steadiness.md.)

Only a band along the outline is filled, ``BAND`` of the picture's diagonal wide, and the person
further in is left as it is: where the person covers much of the photo (a selfie), a fill of the
whole person changed the picture's statistics, and the network's instance normalisation painted
the whole background in another tone (up to 22 L* on a close-up); the band keeps the rim away as
well and moves the tone far less (docs/benchmark/steadiness.md, "The fill and a close-up's tone").
"""

from __future__ import annotations

import cv2
import numpy as np

FILL_LONG = 96  # the fill is made on a copy at most this many pixels on its long side (it is smooth)
FILL_SIGMA = 0.08  # the fill's narrowest blur, as a share of that copy's short side
MARGIN = 0.05  # the fill is blended in within the person's box grown by this share of the picture
BAND = 0.05  # the band of the person filled in along their outline, as a share of the picture's diagonal
BAND_RAMP = 1 / 3  # beyond it, the fill fades into the person over this share of the band's width


def person_filled(
    frame: np.ndarray, person: np.ndarray, threshold: float = 0.5, band: float | None = BAND
) -> np.ndarray:
    """``frame`` (BGR uint8) with its person (``person``: 0-1 at any size, e.g. the alpha the person
    is composited with, ``fill_mask``; person above ``threshold``) replaced by the background's
    colours spread in from around them (a normalised blur: the mean of nearby background pixels,
    weighted by distance): the person within ``band`` (a share of the picture's diagonal) of their
    outline, faded into the person as they are over a further third of that; ``band`` None: the
    whole person. Where no pixel or every pixel is person, ``frame`` itself."""
    h, w = frame.shape[:2]
    inside = (person > threshold).astype(np.float32)
    if not inside.any() or inside.all():
        return frame
    scale = min(1.0, FILL_LONG / max(h, w))
    small = (max(1, round(w * scale)), max(1, round(h * scale)))
    background = 1.0 - cv2.resize(inside, small, interpolation=cv2.INTER_AREA)
    if background.sum() < 1.0:  # the person fills the picture: nothing to fill from
        return frame
    colours = _shrunk(frame, small).astype(np.float32) * background[..., None]
    # a normalised blur at four widths, the wider ones weighed far less: near the background the
    # narrow one speaks, deep inside a large person the wide ones, with no step between them
    spread = np.zeros_like(colours)
    weight = np.zeros_like(background)
    sigma = max(0.5, FILL_SIGMA * min(small))
    for share in (1.0, 1e-2, 1e-4, 1e-6):
        spread += share * cv2.GaussianBlur(colours, (0, 0), sigma)
        weight += share * cv2.GaussianBlur(background, (0, 0), sigma)
        sigma *= 2.5
    fill = np.clip(spread / np.maximum(weight, 1e-20)[..., None] + 0.5, 0, 255).astype(np.uint8)
    # blended in at full size only where the person is (their box, grown a little)
    ys, xs = np.nonzero(inside)
    ph, pw = inside.shape
    y0, y1 = max(0, int((ys.min() / ph - MARGIN) * h)), min(h, int(np.ceil(((ys.max() + 1) / ph + MARGIN) * h)))
    x0, x1 = max(0, int((xs.min() / pw - MARGIN) * w)), min(w, int(np.ceil(((xs.max() + 1) / pw + MARGIN) * w)))
    box, size = (x0 / w, y0 / h, x1 / w, y1 / h), (x1 - x0, y1 - y0)
    share = _box_of(inside if band is None else inside * _band(inside, band), box, size)
    fill_box = _box_of(fill, box, size)
    out = frame.copy()
    out[y0:y1, x0:x1] = cv2.blendLinear(frame[y0:y1, x0:x1], fill_box, 1.0 - share, share)
    return out


def _band(inside: np.ndarray, band: float) -> np.ndarray:
    """1 within ``band`` (a share of the diagonal) of the edge of ``inside`` (a 0/1 mask; its
    distances in its own pixels: the picture's shape, any size), falling linearly to 0 over a further
    ``BAND_RAMP`` of that; 1 outside. (The picture's border is no edge: the painter sees none there.)"""
    width = band * float(np.hypot(*inside.shape))
    ramp = max(1.0, BAND_RAMP * width)
    depth = cv2.distanceTransform((inside > 0).astype(np.uint8), cv2.DIST_L2, 5)
    return np.clip((width + ramp - depth) / ramp, 0.0, 1.0).astype(np.float32)


def _shrunk(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` at ``size`` (smaller), averaged: halved by pyramid steps first (a large photo's
    area resize to a small size is slow), then by area."""
    while frame.shape[1] >= 4 * size[0] and frame.shape[0] >= 4 * size[1]:
        frame = cv2.pyrDown(frame)
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _box_of(image: np.ndarray, box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    """The part of ``image`` inside ``box`` (left, top, right, bottom as shares of its width and
    height), scaled linearly to ``size`` (width, height), pixel centres kept."""
    ih, iw = image.shape[:2]
    left, top, right, bottom = box
    sx, sy = (right - left) * iw / size[0], (bottom - top) * ih / size[1]
    matrix = np.array([[sx, 0.0, left * iw + 0.5 * sx - 0.5], [0.0, sy, top * ih + 0.5 * sy - 0.5]], np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(image, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)


def fill_mask(alpha: np.ndarray, long_side: int = 1024) -> np.ndarray:
    """The composited person alpha (0-1, the photo's size) as the fill's mask, averaged down to at
    most ``long_side`` pixels (a 100-megapixel photo's full-size mask is not needed for a fill made
    at 96): the fill covers what is composited over it, no more and no less (a review: a person
    the refined mask dropped was filled and painted over)."""
    h, w = alpha.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1.0:
        return alpha
    return cv2.resize(alpha, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
