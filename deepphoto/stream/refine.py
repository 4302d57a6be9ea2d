"""Edge-aware refinement of the person probability, guided by the frame (fast guided filter).

He and Sun's fast guided filter: the linear coefficients are fitted at a reduced scale and applied
at full scale, so hair and shoulder edges follow the image instead of the blocky network output.
"""

from __future__ import annotations

import cv2
import numpy as np


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int = 8, eps: float = 1e-3, scale: int = 4) -> np.ndarray:
    """Filter ``src`` (float32 HxW) with the grey version of ``guide`` (BGR uint8 HxWx3)."""
    h, w = src.shape
    grey = cv2.cvtColor(guide, cv2.COLOR_BGR2GRAY).astype(np.float32) * (1 / 255)
    sw, sh = max(1, w // scale), max(1, h // scale)
    small_i = cv2.resize(grey, (sw, sh), interpolation=cv2.INTER_AREA)
    small_p = cv2.resize(src.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    k = 2 * max(1, radius // scale) + 1

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (k, k))

    mean_i, mean_p = box(small_i), box(small_p)
    var_i = box(small_i * small_i) - mean_i * mean_i
    cov_ip = box(small_i * small_p) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    mean_a = cv2.resize(box(a), (w, h), interpolation=cv2.INTER_LINEAR)
    mean_b = cv2.resize(box(b), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(mean_a * grey + mean_b, 0.0, 1.0)
