"""Perceptual losses of the design (Gatys et al.), shared by the optimizer and the fast network.

    L_content = 1/2 * sum (A^l(g) - A^l(c))^2                   on one deep layer l
    L_style   = sum_l w_l / M_l * sum_ij (G^l(s) - G^l(g))^2    G_ij = sum_k A_ik A_jk

A^l has N_l channels (rows i) over M_l positions (k). With w_l = 1 / (4 N_l^2 M_l) each layer
term is Gatys' E_l = 1 / (4 N_l^2 M_l^2) sum (G - A)^2; that is the default of ``gatys_weights``.
"""

from __future__ import annotations

import torch

CONTENT_LAYER = "block4_relu1"
STYLE_LAYERS = ("block1_relu1", "block2_relu1", "block3_relu1", "block4_relu1")


def gram(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) with G_ij = sum_k A_ik A_jk (not normalised)."""
    n, c, h, w = features.shape
    a = features.reshape(n, c, h * w)
    return a @ a.transpose(1, 2)


def content_loss(generated: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """1/2 * sum of squared differences, per sample -> (N,)."""
    return 0.5 * (generated - content).pow(2).flatten(1).sum(1)


def style_loss(
    generated: dict[str, torch.Tensor], style_grams: dict[str, torch.Tensor], weights: dict[str, float]
) -> torch.Tensor:
    """sum_l w_l / M_l * sum (G^l(s) - G^l(g))^2, per sample -> (N,). ``style_grams[l]``: (N or 1, C, C)."""
    total = 0.0
    for layer, w in weights.items():
        a = generated[layer]
        m = a.shape[2] * a.shape[3]
        total = total + w / m * (style_grams[layer] - gram(a)).pow(2).flatten(1).sum(1)
    return total  # type: ignore[return-value]


def gatys_weights(
    channels: dict[str, int], positions: dict[str, int], layer_weights: dict[str, float] | None = None
) -> dict[str, float]:
    """w_l = b_l / (4 N_l^2 M_l), with b_l equal per layer unless given."""
    layer_weights = layer_weights or {k: 1.0 / len(channels) for k in channels}
    return {k: layer_weights[k] / (4.0 * channels[k] ** 2 * positions[k]) for k in channels}
