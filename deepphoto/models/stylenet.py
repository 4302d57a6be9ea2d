"""StyleNet: a light feed-forward style network with conditional instance normalisation.

Designed for live video on a CPU or a Jetson: it goes down to 1/8 resolution within three
layers, works there with depthwise-separable residual blocks at 64 channels, and comes back up
with depthwise-separable convolutions. One network holds many styles: every instance norm has a
scale and shift per style (Dumoulin et al., 2017), chosen, or blended, by a weight vector.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CondInstanceNorm(nn.Module):
    def __init__(self, channels: int, styles: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(styles, channels))
        self.beta = nn.Parameter(torch.zeros(styles, channels))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``style``: (N, styles) blend weights (one-hot for one style)."""
        x = F.instance_norm(x, eps=1e-5)  # exported as ONNX InstanceNormalization
        return x * (style @ self.gamma)[:, :, None, None] + (style @ self.beta)[:, :, None, None]


class SepConv(nn.Module):
    """Depthwise 3x3 then pointwise 1x1 (reflect padding: no dark frame at the borders)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, padding_mode="reflect")
        self.pw = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class ResBlock(nn.Module):
    def __init__(self, ch: int, styles: int) -> None:
        super().__init__()
        self.conv1, self.norm1 = SepConv(ch, ch), CondInstanceNorm(ch, styles)
        self.conv2, self.norm2 = SepConv(ch, ch), CondInstanceNorm(ch, styles)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x), style))
        return x + self.norm2(self.conv2(y), style)


class StyleNet(nn.Module):
    def __init__(self, styles: int, width: int = 64, blocks: int = 5, mid: int = 0, fine: int = 0) -> None:
        """``width``: channels at 1/8 of the frame (1/4 and 1/8 of it at 1/2 and 1/4 on the way
        down); ``blocks``: residual blocks there; ``mid`` / ``fine``: channels of the way back up at
        1/4 and 1/2 of the frame (0: width / 2 and width / 4, as on the way down; more: a wider
        palette of strokes and colours to paint from, the skip from the way down padded with zeros)."""
        super().__init__()
        c1, c2 = width // 4, width // 2
        self.styles, self.width, self.blocks = styles, width, blocks
        self.mid, self.fine = mid or c2, fine or c1
        if self.mid < c2 or self.fine < c1:
            raise ValueError(f"the way up is at least as wide as the way down ({c2} and {c1} channels)")
        self.down1 = nn.Conv2d(3, c1, 3, 2, 1, padding_mode="reflect")
        self.norm_d1 = CondInstanceNorm(c1, styles)
        self.down2 = nn.Conv2d(c1, c2, 3, 2, 1, padding_mode="reflect")
        self.norm_d2 = CondInstanceNorm(c2, styles)
        self.down3 = SepConv(c2, width, stride=2)
        self.norm_d3 = CondInstanceNorm(width, styles)
        self.res = nn.ModuleList(ResBlock(width, styles) for _ in range(blocks))
        self.up1 = SepConv(width, self.mid)
        self.norm_u1 = CondInstanceNorm(self.mid, styles)
        self.up2 = SepConv(self.mid, self.fine)
        self.norm_u2 = CondInstanceNorm(self.fine, styles)
        self.out = nn.Conv2d(self.fine, 3, 3, 1, 1, padding_mode="reflect")

    def forward(self, rgb: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``rgb`` (N, 3, H, W) in [0, 1], H and W multiples of 8; ``style`` (N, styles) -> RGB in [0, 1]."""
        x = F.interpolate(self.half_size(rgb, style), scale_factor=2.0, mode="bilinear", align_corners=False)
        return torch.sigmoid(self.out(x))

    def half_size(self, rgb: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Everything before the last upsampling: the (N, fine, H / 2, W / 2) map ``out`` paints from."""
        x = F.relu(self.norm_d1(self.down1(rgb), style))
        skip = x
        x = F.relu(self.norm_d2(self.down2(x), style))
        x = F.relu(self.norm_d3(self.down3(x), style))
        for block in self.res:
            x = block(x, style)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = F.relu(self.norm_u1(self.up1(x), style))
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        if self.fine > skip.shape[1]:  # the skip feeds the first channels only
            skip = F.pad(skip, (0, 0, 0, 0, 0, self.fine - skip.shape[1]))
        return F.relu(self.norm_u2(self.up2(x), style)) + skip


def stylenet_of(config: dict, styles: int) -> StyleNet:
    """The StyleNet a weights file's ``config`` describes (files before v3 hold no shape: 64 wide,
    5 blocks; files before the wider way up, none of it: as wide as the way down)."""
    return StyleNet(
        styles,
        width=int(config.get("width", 64)),
        blocks=int(config.get("blocks", 5)),
        mid=int(config.get("mid", 0)),
        fine=int(config.get("fine", 0)),
    )


def shape_of(net: StyleNet) -> dict[str, int]:
    """What ``stylenet_of`` needs to build ``net`` again."""
    return {"width": net.width, "blocks": net.blocks, "mid": net.mid, "fine": net.fine}


class ClassicStyleNet(nn.Module):
    """Johnson et al.'s architecture (32-64-128, five residual blocks, instance norm), for cost only."""

    def __init__(self) -> None:
        super().__init__()

        def conv(cin: int, cout: int, k: int, s: int = 1) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, k, s, k // 2, padding_mode="reflect"),
                nn.InstanceNorm2d(cout, affine=True),
                nn.ReLU(),
            ]

        def up(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Upsample(scale_factor=2.0, mode="nearest"), *conv(cin, cout, 3)]

        self.head = nn.Sequential(*conv(3, 32, 9), *conv(32, 64, 3, 2), *conv(64, 128, 3, 2))
        self.blocks = nn.ModuleList(
            nn.Sequential(*conv(128, 128, 3), nn.Conv2d(128, 128, 3, 1, 1), nn.InstanceNorm2d(128, affine=True))
            for _ in range(5)
        )
        self.tail = nn.Sequential(*up(128, 64), *up(64, 32), nn.Conv2d(32, 3, 9, 1, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        for block in self.blocks:
            x = x + block(x)
        return torch.sigmoid(self.tail(x))


def count_macs(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-accumulates of the convolutions (and linear layers) for one forward pass."""
    total = 0

    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total += out.numel() * k
        elif isinstance(module, nn.Linear):
            total += out.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(*inputs)
    for h in handles:
        h.remove()
    return total
