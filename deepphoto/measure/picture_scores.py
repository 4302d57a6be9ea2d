"""Scores of one painted picture against another: closeness, structure kept, and how painted.

All take BGR uint8 images of the same size (numpy and OpenCV only):

- ``psnr``: 10 log10(255^2 / MSE) over every pixel and channel (identical pictures: ``inf``).
- ``ssim``: Wang et al. 2004, Gaussian window 11 (sigma 1.5), K1 0.01, K2 0.03, L 255, per
  channel, the mean over pixels and channels (identical pictures: 1).
- ``luminance_correlation``: Pearson's r of the two pictures' luminance (BT.601 grey) over every
  pixel: 1 when the painting keeps the photo's light and dark, below 0 when it inverts them (a
  dark face where the face was light); 0 when either picture is one flat grey.
- ``painted``: how far a painted picture is from its photo: the mean CIE76 colour difference
  (Delta E in CIELAB, 0-100 lightness; about 2.3 is just noticeable) over every pixel. It grows
  with brush strokes, texture and palette alike and falls linearly with ``--strength`` (an image
  blend); read it beside ``luminance_correlation`` (noise would paint "strongly" and keep no
  structure) and ``palette_pull`` (the change goes towards the painting).
- ``palette_pull``: how far a picture's colours moved from the photo's towards the painting's:
  1 - SWD(picture, painting) / SWD(photo, painting), SWD the sliced Wasserstein distance between
  the CIELAB colour distributions (64 fixed directions): 0 the photo's palette, 1 the painting's.
"""

from __future__ import annotations

import cv2
import numpy as np

SSIM_WINDOW, SSIM_SIGMA = 11, 1.5
SWD_DIRECTIONS, SWD_QUANTILES, SWD_PIXELS = 64, 1024, 65536


def _same_size(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"pictures of different shapes {a.shape} and {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 pictures (``inf`` when identical)."""
    _same_size(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * float(np.log10(255.0**2 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity (Wang et al. 2004) over pixels and channels of two uint8 pictures."""
    _same_size(a, b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x, y = a.astype(np.float64), b.astype(np.float64)

    def blur(v: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(v, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    score = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(score.mean())


def luminance(image: np.ndarray) -> np.ndarray:
    """BT.601 luminance of a BGR uint8 picture, float64 0-255."""
    b, g, r = (image[..., i].astype(np.float64) for i in range(3))
    return 0.114 * b + 0.587 * g + 0.299 * r


def luminance_correlation(picture: np.ndarray, photo: np.ndarray) -> float:
    """Pearson's r of the two pictures' luminance; 0 when either is flat."""
    _same_size(picture, photo)
    x, y = luminance(picture).ravel(), luminance(photo).ravel()
    x, y = x - x.mean(), y - y.mean()
    norm = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return 0.0 if norm == 0 else float((x * y).sum() / norm)


def lab(image: np.ndarray) -> np.ndarray:
    """CIELAB of a BGR uint8 picture: L 0-100, a and b about -127 to 127 (float32)."""
    return cv2.cvtColor(image.astype(np.float32) * (1 / 255), cv2.COLOR_BGR2LAB)


def painted(picture: np.ndarray, photo: np.ndarray) -> float:
    """Mean CIE76 Delta E between a painted picture and its photo."""
    _same_size(picture, photo)
    return float(np.sqrt(((lab(picture) - lab(photo)) ** 2).sum(axis=2)).mean())


def _directions(n: int = SWD_DIRECTIONS) -> np.ndarray:
    d = np.random.default_rng(0).standard_normal((n, 3))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def _quantiles(image: np.ndarray, directions: np.ndarray, n: int) -> np.ndarray:
    """``n`` evenly spaced quantiles of the picture's colours projected on each direction (at most
    ``SWD_PIXELS`` pixels, every k-th, so a large painting costs no more than a small one)."""
    colours = lab(image).reshape(-1, 3)
    colours = colours[:: max(1, -(-len(colours) // SWD_PIXELS))].astype(np.float64)
    projected = np.sort(colours @ directions.T, axis=0)  # (pixels, directions)
    return projected[np.linspace(0, len(projected) - 1, n).round().astype(int)]


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Sliced Wasserstein distance (mean over 64 directions of the 1-D W1) of two pictures'
    CIELAB colours; the pictures may differ in size."""
    directions = _directions()
    n = min(SWD_QUANTILES, a.shape[0] * a.shape[1], b.shape[0] * b.shape[1])
    return float(np.abs(_quantiles(a, directions, n) - _quantiles(b, directions, n)).mean())


def palette_pull(picture: np.ndarray, photo: np.ndarray, painting: np.ndarray) -> float:
    """1 - SWD(picture, painting) / SWD(photo, painting): 0 the photo's colours, 1 the painting's."""
    base = colour_distance(photo, painting)
    return 0.0 if base == 0 else 1.0 - colour_distance(picture, painting) / base
