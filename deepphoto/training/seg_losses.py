"""LightNet v2's losses: soft targets weighted by confidence, an edge band, and consistency.

- ``soft_loss``: binary cross-entropy of the person logit against the target probability, each
  pixel weighted by its confidence (real-mask pixels 1) times ``1 + edge_weight`` inside a band
  around the target's edge (2% of the image diagonal wide, as boundary IoU measures), and
  ``1 + near_weight`` on background pixels within a wider band outside the person (false person
  pixels next to the person: a pillow, a wall hanging, a shadow, the shipped soup's largest
  errors), plus a weighted soft-IoU term as v1 has.
- ``consistency``: for part of each batch a copy moved a few percent (scale, shift) and re-lit;
  the copy's prediction should equal the original's prediction moved the same way (mean squared
  difference over the pixels both see). The steadiness of masks in video relies on it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from deepphoto.training.config import NEAR_BAND

EDGE_BAND = 0.02  # band width as a share of the image diagonal (Cheng et al.'s boundary IoU)


def person_logit(logits: torch.Tensor) -> torch.Tensor:
    """(N, 2, h, w) class logits -> (N, h, w) person logit: sigmoid of it is softmax's person share."""
    return logits[:, 1] - logits[:, 0]


def square_max(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Max over the (2r+1)-pixel square around each pixel of (N, 1, H, W): two 1-D pools, equal to
    the square pool and 10-20x faster at the near band's radius (a 70-pixel square pool took half
    of a training step's time)."""
    k = 2 * radius + 1
    x = F.max_pool2d(x, (k, 1), stride=1, padding=(radius, 0))
    return F.max_pool2d(x, (1, k), stride=1, padding=(0, radius))


def edge_band(target: torch.Tensor, share: float = EDGE_BAND) -> torch.Tensor:
    """1 within ``share`` x diagonal / 2 pixels of the edge of (target > 0.5), either side (a
    square's reach); (N, H, W)."""
    h, w = target.shape[-2:]
    radius = max(1, round(share * math.hypot(h, w) / 2))
    hard = (target > 0.5).float()[:, None]
    dilated = square_max(hard, radius)
    eroded = -square_max(-hard, radius)
    return (dilated - eroded)[:, 0]


def near_band(target: torch.Tensor, share: float = NEAR_BAND, start: float = 0.0) -> torch.Tensor:
    """1 on background pixels (target <= 0.5) within a square of ``share`` x diagonal on each side
    of a person pixel (so up to 1.41 x that at the square's corners), and farther than ``start`` x
    diagonal from it (0: from the outline on; the outline itself left to the edge band); (N, H, W)."""
    h, w = target.shape[-2:]
    diagonal = math.hypot(h, w)
    radius = max(1, round(share * diagonal))
    hard = (target > 0.5).float()[:, None]
    inner = square_max(hard, round(start * diagonal)) if start > 0 and round(start * diagonal) > 0 else hard
    return (square_max(hard, radius) - inner)[:, 0]


def soft_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    edge_weight: float,
    near_weight: float = 0.0,
    near_from: float = 0.0,
) -> torch.Tensor:
    """Weighted BCE against soft targets (with the edge and near bands) plus a weighted soft-IoU
    term, at the target's resolution. ``target`` and ``weight``: (N, H, W) float in [0, 1]."""
    logits = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
    z = person_logit(logits)
    w = weight
    if edge_weight:
        w = w * (1 + edge_weight * edge_band(target))
    if near_weight:
        w = w * (1 + near_weight * near_band(target, start=near_from))
    bce = F.binary_cross_entropy_with_logits(z, target, reduction="none")
    bce = (w * bce).sum() / w.sum().clamp_min(1e-6)
    p = torch.sigmoid(z)
    inter = (weight * p * target).sum((1, 2))
    union = (weight * (p + target - p * target)).sum((1, 2))
    return bce + 1 - ((inter + 1) / (union + 1)).mean()


def random_moves(n: int, rng: np.random.Generator, move: float = 0.04, scale: float = 0.05) -> torch.Tensor:
    """(n, 2, 3) affine maps (normalised coordinates) of a zoom by up to ``scale`` and a shift by
    up to ``move`` of the image size."""
    s = rng.uniform(1 - scale, 1 + scale, n)
    t = rng.uniform(-2 * move, 2 * move, (n, 2))  # normalised coordinates span 2
    theta = np.zeros((n, 2, 3), np.float32)
    theta[:, 0, 0] = theta[:, 1, 1] = s
    theta[:, :, 2] = t
    return torch.from_numpy(theta)


def move(x: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` sampled through ``theta`` (output pixel u shows input at theta(u)), and (N, 1, h, w)
    1 where theta(u) falls inside the input."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    inside = (grid.abs() <= 1).all(-1, keepdim=True).permute(0, 3, 1, 2).to(x.dtype)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False), inside


def relight(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Gain, offset and gamma per image, as lighting changes between frames (RGB in [0, 1])."""
    n = x.shape[0]

    def draw(low: float, high: float) -> torch.Tensor:
        return torch.from_numpy(rng.uniform(low, high, n).astype(np.float32)).view(n, 1, 1, 1).to(x.device)

    gain, offset, gamma = draw(0.75, 1.25), draw(-0.08, 0.08), draw(0.8, 1.25)
    return (x * gain + offset).clamp(1e-4, 1) ** gamma


def consistency(logits: torch.Tensor, copy_logits: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the copies' person probability and the originals' moved by
    ``theta`` (the first ``len(copy_logits)`` originals), over pixels inside both."""
    p = torch.sigmoid(person_logit(logits[: len(copy_logits)]))[:, None]
    q = torch.sigmoid(person_logit(copy_logits))[:, None]
    moved, inside = move(p, theta)
    return (inside * (q - moved) ** 2).sum() / inside.sum().clamp_min(1)
