"""Review of hunt 28: the colour guided filter's cost on a large photo."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest

from deepphoto.stream.refine import colour_guided_filter, guided_filter


def _reference(guide: np.ndarray, src: np.ndarray, radius: int = 8, eps: float = 1e-3, scale: int = 4) -> np.ndarray:
    """The colour guided filter in float64 with a 3x3 solve per pixel (He and Sun's colour form)."""
    h, w = src.shape
    sw, sh = max(1, w // scale), max(1, h // scale)
    small_i = cv2.resize(guide, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float64) / 255
    small_p = cv2.resize(src.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float64)
    k = 2 * max(1, radius // scale) + 1

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (k, k))

    mean_i, mean_p = box(small_i), box(small_p)
    cov_ip = box(small_i * small_p[..., None]) - mean_i * mean_p[..., None]
    sigma = np.empty((sh, sw, 3, 3))
    for i in range(3):
        for j in range(3):
            sigma[..., i, j] = box(small_i[..., i] * small_i[..., j]) - mean_i[..., i] * mean_i[..., j] + eps * (i == j)
    coef = np.linalg.solve(sigma, cov_ip[..., None])[..., 0]
    offset = mean_p - (coef * mean_i).sum(axis=2)
    mean_a = cv2.resize(box(coef), (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, 3)
    mean_b = cv2.resize(box(offset), (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w)
    return np.clip((mean_a * guide / 255.0).sum(axis=2) + mean_b, 0.0, 1.0)


def _picture(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(28)
    guide = cv2.resize(rng.integers(0, 256, (12, 16, 3), np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w]
    src = cv2.GaussianBlur((np.hypot(xx - w / 2, yy - h / 2) < min(h, w) / 3).astype(np.float32), (0, 0), 4)
    return guide, src


def _peak(fn, *args) -> int:  # noqa: ANN001
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_colour_guided_filter_takes_no_more_memory_than_the_grey_one() -> None:
    """A photo's mask is refined at the photo's full size (up to 200 megapixels): the colour filter
    made three full-size float copies of its coefficients and of their products with the photo,
    twice the grey filter's memory (39 bytes a pixel against 22: 4.7 GiB over a 108-megapixel photo
    painted with blur, 3.4 GiB before hunt 28)."""
    guide, src = _picture(600, 800)
    grey = _peak(guided_filter, guide, src)
    colour = _peak(colour_guided_filter, guide, src)
    assert colour <= 1.1 * grey, f"{colour / src.size:.1f} bytes a pixel, the grey filter {grey / src.size:.1f}"


@pytest.mark.parametrize("size", [(480, 640), (9, 1), (1, 9), (1, 1), (5, 3), (7, 13)])
def test_colour_guided_filter_is_the_colour_fit(size: tuple[int, int]) -> None:
    """The same alpha as a float64 solve, one-pixel-wide and tall pictures too."""
    guide, src = _picture(*size)
    out = colour_guided_filter(guide, src)
    assert out.shape == size and out.dtype == np.float32
    assert np.abs(out - _reference(guide, src)).max() < 1e-4
    flat = np.full_like(guide, 200)  # a flat picture: the covariance is eps alone (no NaN, no division by 0)
    assert np.isfinite(colour_guided_filter(flat, src)).all()
