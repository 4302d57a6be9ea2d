"""LightNet: Light-Weight RefineNet (Nekrasov et al., BMVC 2018) on a MobileNetV2 encoder.

The decoder is the paper's light setup: chained residual pooling (CRP) and multi-resolution fusion
built from 1x1 convolutions only, no RCU blocks. Two classes (background, person). The network
takes RGB in [0, 1] (ImageNet normalisation happens inside) and returns logits at 1/4 resolution,
or at 1/2 with ``fine_level`` (see :class:`LightNet`); :class:`LightNetProb` wraps it to return the
person probability, which is what gets exported.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from deepphoto.models.mobilenet_v2 import make_features

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NUM_CLASSES = 2
# Slices of torchvision's ``features`` that end at each resolution the decoder taps.
STAGES: tuple[tuple[int, int], ...] = ((0, 4), (4, 7), (7, 11), (11, 14), (14, 17), (17, 18))
STAGE_CHANNELS: tuple[int, ...] = (24, 32, 64, 96, 160, 320)  # strides 4, 8, 16, 16, 32, 32
FINE_STAGE_END = 2  # features[:2] end at stride 2 (16 channels): the fine level's tap
FINE_CHANNELS = 16


class DecoderParts(NamedTuple):
    """Each level's residual stream after its CRP block (1/32, 1/16, 1/8, 1/4), the fine level's
    input to its head (or None), the 1/4 classifier's logits and the fine head's correction (or
    None)."""

    streams: list[torch.Tensor]
    fine: torch.Tensor | None
    logits: torch.Tensor
    fine_logits: torch.Tensor | None


def conv1x1(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, bias=False)


def max_pool5(x: torch.Tensor) -> torch.Tensor:
    """5x5 max-pool, stride 1, padding 2, computed as a 1x5 pool and then a 5x1 one: the same
    numbers exactly (the maximum over a window is the maximum of its rows' maxima, and padding is
    never the maximum), 10 comparisons a pixel instead of 25. ONNX Runtime's INT8 LightNet v1 runs
    in 0.94x the time (measured alternating, 2 threads, 352x352)."""
    return F.max_pool2d(F.max_pool2d(x, (1, 5), stride=1, padding=(0, 2)), (5, 1), stride=1, padding=(2, 0))


class CRPBlock(nn.Module):
    """Chained residual pooling: ``n`` times (5x5 max-pool -> 1x1 conv), each added to the input."""

    def __init__(self, channels: int, stages: int = 4) -> None:
        super().__init__()
        self.convs = nn.ModuleList(conv1x1(channels, channels) for _ in range(stages))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top = x
        for conv in self.convs:
            top = conv(max_pool5(top))
            x = x + top
        return x


class LightNet(nn.Module):
    """``fine_level`` > 0 adds a finer decoder level of that many channels: a fusion block (1x1
    convolutions, no RCU, no CRP) of the 1/4 decoder features with the stride-2 encoder features,
    whose 3x3 head adds a correction to the upsampled 1/4 logits, so the output is at 1/2 resolution.
    Its head starts at zero: a fine-level network initialised from one without computes the same
    mask (upsampled) at step 0. ``head``: the kernel of both classifiers, 3 (v1's) or 1 (a 1x1
    convolution: ONNX Runtime's INT8 classifiers with two output channels are slow, 3x3 ones the
    more; 0.82x the network's time at 352x352 with both 1x1, measured alternating, 2 threads)."""

    def __init__(self, width: int = 128, crp_stages: int = 4, fine_level: int = 0, head: int = 3) -> None:
        super().__init__()
        if head not in (1, 3):
            raise ValueError(f"LightNet head kernel {head}: 1 or 3")
        self.width = width
        self.crp_stages = crp_stages
        self.fine_level = fine_level
        self.head = head
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.backbone = nn.Module()
        self.backbone.features = make_features(include_last=False)
        # 1x1 projections of each tapped encoder stage to the decoder width.
        self.lateral = nn.ModuleList(conv1x1(c, width) for c in STAGE_CHANNELS)
        self.crp = nn.ModuleList(CRPBlock(width, crp_stages) for _ in range(4))
        self.adapt = nn.ModuleList(conv1x1(width, width) for _ in range(3))
        self.classifier = nn.Conv2d(width, NUM_CLASSES, head, padding=head // 2)
        if fine_level:
            self.fine_adapt = conv1x1(width, fine_level)
            self.fine_lateral = conv1x1(FINE_CHANNELS, fine_level)
            self.fine_classifier = nn.Conv2d(fine_level, NUM_CLASSES, head, padding=head // 2)
            nn.init.zeros_(self.fine_classifier.weight)
            nn.init.zeros_(self.fine_classifier.bias)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The stride-2 features, then those of each of ``STAGES``."""
        feats = []
        for start, stop in STAGES:
            for i in range(start, stop):
                x = self.backbone.features[i](x)
                if i + 1 == FINE_STAGE_END:
                    feats.append(x)
            feats.append(x)
        return feats

    def parts(self, rgb: torch.Tensor) -> DecoderParts:
        """What the decoder computes on the way to the output (``DecoderParts``); ``forward`` adds
        the heads' outputs up."""
        l1, l3, l4, l5, l6, l7, l8 = self.encode((rgb - self.mean) / self.std)
        lat = self.lateral
        streams = []
        # 1/32: fuse the two deepest stages, pool, adapt, go up to 1/16.
        x = self.crp[0](F.relu6(lat[5](l8) + lat[4](l7)))
        streams.append(x)
        x = _up(self.adapt[0](x), l6)
        # 1/16
        x = self.crp[1](F.relu6(x + lat[3](l6) + lat[2](l5)))
        streams.append(x)
        x = _up(self.adapt[1](x), l4)
        # 1/8
        x = self.crp[2](F.relu6(x + lat[1](l4)))
        streams.append(x)
        x = _up(self.adapt[2](x), l3)
        # 1/4
        x = self.crp[3](F.relu6(x + lat[0](l3)))
        streams.append(x)
        logits = self.classifier(x)
        if not self.fine_level:
            return DecoderParts(streams, None, logits, None)
        # 1/2: fuse the stride-2 encoder features; the head corrects the upsampled 1/4 logits.
        fine = F.relu6(_up(self.fine_adapt(x), l1) + self.fine_lateral(l1))
        return DecoderParts(streams, fine, logits, self.fine_classifier(fine))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """``rgb``: (N, 3, H, W) in [0, 1], H and W multiples of 32. Returns (N, 2, H/4, W/4) logits,
        (N, 2, H/2, W/2) with ``fine_level``."""
        p = self.parts(rgb)
        if p.fine is None or p.fine_logits is None:
            return p.logits
        return _up(p.logits, p.fine) + p.fine_logits


def lightnet_of(config: dict) -> LightNet:
    """The LightNet a weights file's or checkpoint's ``config`` describes (defaults: v1's shape)."""
    return LightNet(
        width=int(config.get("width", 128)),
        crp_stages=int(config.get("crp_stages", 4)),
        fine_level=int(config.get("fine_level", 0)),
        head=int(config.get("head", 3)),
    )


def arch_of(net: LightNet) -> dict[str, int]:
    """What ``lightnet_of`` needs to build ``net`` again (v1's defaults left out, as v1 wrote it)."""
    arch = {"width": net.width}
    if net.crp_stages != 4:
        arch["crp_stages"] = net.crp_stages
    if net.fine_level:
        arch["fine_level"] = net.fine_level
    if net.head != 3:
        arch["head"] = net.head
    return arch


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class LightNetProb(nn.Module):
    """LightNet returning the person probability (N, 1, H/4, W/4; H/2, W/2 with a fine level):
    the exported graph."""

    def __init__(self, net: LightNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        logits = self.net(rgb)
        return torch.sigmoid(logits[:, 1:2] - logits[:, 0:1])
