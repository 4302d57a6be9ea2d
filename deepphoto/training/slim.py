"""A narrower, faster LightNet made from trained weights: the start of a fine-tune, not a model.

Three cuts, each keeping as much of the trained network as it can:

- **Fewer pooling stages** per CRP block: the first ``stages`` of each chain are kept as they are
  (the later ones only add to the residual sum).
- **Fewer decoder channels** per level: the ``width`` channels of each level's residual stream that
  carry most (mean absolute activation on the given images times the L1 norm of the weights that
  read them) are kept; every 1x1 convolution that writes or reads the stream is sliced to them.
- **1x1 classifiers** instead of 3x3: fitted by ridge regression, on the given images, to what the
  trained network's own classifiers output, so the new heads start where the old ones were.

``slim`` returns the new network; a short fine-tune (``train-seg --init``) recovers the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from deepphoto.models.lightnet import LightNet

RIDGE = 1e-4  # relative to the mean variance of the features


def _readers(net: LightNet, level: int) -> list[torch.Tensor]:
    """The weights that read a level's stream, as (out, in) matrices (a 3x3 kernel: its taps' sizes summed)."""
    if level < 3:
        return [net.adapt[level].weight.flatten(1)]
    mats = [net.classifier.weight.abs().sum((2, 3))]  # a 3x3 kernel's taps by size: they may cancel
    if net.fine_level:
        mats.append(net.fine_adapt.weight.flatten(1))
    return mats


def fewer_stages(net: LightNet, stages: int) -> LightNet:
    """``net`` with the first ``stages`` pooling stages of each CRP block."""
    if not 1 <= stages <= net.crp_stages:
        raise ValueError(f"stages {stages}: 1 to {net.crp_stages}")
    out = LightNet(net.width, stages, net.fine_level, net.head)
    state = {k: v for k, v in net.state_dict().items() if not _dropped_stage(k, stages)}
    out.load_state_dict(state)
    return out.eval()


def _dropped_stage(key: str, stages: int) -> bool:
    parts = key.split(".")
    return parts[0] == "crp" and parts[2] == "convs" and int(parts[3]) >= stages


@torch.no_grad()
def channel_scores(net: LightNet, images: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """Per level, each stream channel's importance: mean |activation| x L1 norm of its readers."""
    sums: list[torch.Tensor] = [torch.zeros(net.width) for _ in range(4)]
    n = 0
    for rgb in images:
        for i, s in enumerate(net.parts(rgb).streams):
            sums[i] += s.abs().mean((0, 2, 3))
        n += 1
    if not n:
        raise ValueError("channel_scores needs at least one image")
    return [(s / n) * sum(m.abs().sum(0) for m in _readers(net, i)) for i, s in enumerate(sums)]


def narrower(net: LightNet, keep: list[torch.Tensor]) -> LightNet:
    """``net`` with only the stream channels ``keep[level]`` (index tensors of one length)."""
    width = len(keep[0])
    if any(len(k) != width for k in keep):
        raise ValueError("every level keeps the same number of channels")
    out = LightNet(width, net.crp_stages, net.fine_level, net.head)
    src = net.state_dict()
    state = dict(src)
    # lateral i feeds level: 5, 4 -> 0; 3, 2 -> 1; 1 -> 2; 0 -> 3
    for i, level in enumerate((3, 2, 1, 1, 0, 0)):
        state[f"lateral.{i}.weight"] = src[f"lateral.{i}.weight"][keep[level]]
    for level in range(4):
        k = keep[level]
        for j in range(net.crp_stages):
            key = f"crp.{level}.convs.{j}.weight"
            state[key] = src[key][k][:, k]
    for level in range(3):
        key = f"adapt.{level}.weight"
        state[key] = src[key][keep[level + 1]][:, keep[level]]
    state["classifier.weight"] = src["classifier.weight"][:, keep[3]]
    if net.fine_level:
        state["fine_adapt.weight"] = src["fine_adapt.weight"][:, keep[3]]
    out.load_state_dict(state)
    return out.eval()


def _pixels(x: torch.Tensor, limit: int, rng: np.random.Generator) -> torch.Tensor:
    rows = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
    if len(rows) > limit:
        rows = rows[torch.from_numpy(rng.choice(len(rows), limit, replace=False))]
    return rows


def _ridge(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights (out, in) and bias (out) of the least-squares fit y ~ x W' + b on centred data,
    lightly ridged (``RIDGE`` times the mean variance of x's columns)."""
    x, y = x.double(), y.double()
    mx, my = x.mean(0), y.mean(0)
    xc = x - mx
    gram = xc.T @ xc
    gram += torch.eye(len(gram), dtype=torch.float64) * RIDGE * gram.diagonal().mean()
    w = torch.linalg.solve(gram, xc.T @ (y - my)).T
    return w.float(), (my - w @ mx).float()


@torch.no_grad()
def one_by_one_heads(
    student: LightNet, teacher: LightNet, images: Iterable[torch.Tensor], pixels: int = 4000
) -> LightNet:
    """``student`` (3x3 heads) as a network with 1x1 heads fitted to ``teacher``'s heads' outputs."""
    rng = np.random.default_rng(0)
    xs, ys, fxs, fys = [], [], [], []
    for rgb in images:
        s, t = student.parts(rgb), teacher.parts(rgb)
        both = torch.cat([s.streams[3], t.logits], 1)
        rows = _pixels(both, pixels, rng)
        xs.append(rows[:, : student.width])
        ys.append(rows[:, student.width :])
        if s.fine is not None and t.fine_logits is not None:
            rows = _pixels(torch.cat([s.fine, t.fine_logits], 1), pixels, rng)
            fxs.append(rows[:, : student.fine_level])
            fys.append(rows[:, student.fine_level :])
    if not xs:
        raise ValueError("one_by_one_heads needs at least one image")
    out = LightNet(student.width, student.crp_stages, student.fine_level, head=1)
    state = {k: v for k, v in student.state_dict().items() if "classifier" not in k}
    w, b = _ridge(torch.cat(xs), torch.cat(ys))
    state["classifier.weight"], state["classifier.bias"] = w[:, :, None, None], b
    if student.fine_level:
        w, b = _ridge(torch.cat(fxs), torch.cat(fys))
        state["fine_classifier.weight"], state["fine_classifier.bias"] = w[:, :, None, None], b
    out.load_state_dict(state)
    return out.eval()


def slim(net: LightNet, images: list[torch.Tensor], width: int, stages: int, head: int = 1) -> LightNet:
    """``net`` with ``stages`` pooling stages, ``width`` decoder channels and ``head``-sized
    classifiers, each cut made as the module's docstring says, on ``images`` ((1, 3, H, W) RGB in
    [0, 1], H and W multiples of 32)."""
    if width > net.width:
        raise ValueError(f"width {width}: at most the network's {net.width}")
    if head not in (1, net.head):
        raise ValueError(f"head {head}: 1, or the network's own ({net.head})")
    net = net.eval()
    cut = fewer_stages(net, stages)
    scores = channel_scores(cut, images)
    keep = [torch.sort(torch.argsort(s, descending=True)[:width]).values for s in scores]
    cut = narrower(cut, keep)
    if head == 1 and cut.head == 3:
        cut = one_by_one_heads(cut, net, images)
    return cut
