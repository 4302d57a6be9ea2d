"""StyleNet as it is exported to ONNX: the same function, computed in a cheaper order.

The network ends with a 2x bilinear upsampling of 16 channels (``fine``) to the full size and a 3x3
convolution to RGB. On a CPU that tail was a third of the network's time (ONNX Runtime profile at
480x360: the full-size 16-channel map is resized, padded and reordered before a convolution with
only 3 outputs). Both steps are linear, so they fold into one 3x3 convolution on the half-size map
with 4 x 3 outputs, one per pixel phase, and a depth-to-space (PixelShuffle) to the full size: the
same multiply-adds, without the full-size 16-channel map. Inside the frame this is exact; on the
outermost row and column the original upsampling and reflect padding meet in a way no padding of
the half-size map reproduces, so those four lines are computed the original way from two-pixel
strips and put in place. The result equals ``StyleNet.forward`` to float rounding (tested).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepphoto.models.stylenet import StyleNet, shape_of

# 2x bilinear upsampling (align_corners=False) then a 3-tap filter, per output phase p (0: even
# pixels, 1: odd): row = the filter's tap d (-1, 0, 1), column = the half-size pixel (-1, 0, 1)
# it reads through the upsampling.
_PHASE_TAPS = torch.tensor(
    [
        [[0.75, 0.25, 0.0], [0.25, 0.75, 0.0], [0.0, 0.75, 0.25]],
        [[0.25, 0.75, 0.0], [0.0, 0.75, 0.25], [0.0, 0.25, 0.75]],
    ]
)


def folded_kernel(weight: torch.Tensor) -> torch.Tensor:
    """A 3x3 kernel applied after 2x bilinear upsampling -> the 3x3 kernel on the half-size map
    with 4 outputs per output channel (channel ``c * 4 + py * 2 + px``: PixelShuffle's order)."""
    taps = _PHASE_TAPS.to(weight)
    k = torch.einsum("oiyx,pya,qxb->opqiab", weight, taps, taps)
    return k.reshape(weight.shape[0] * 4, weight.shape[1], 3, 3)


class UpsampledConv(nn.Module):
    """``conv(interpolate(x, 2x, bilinear))`` for a 3x3, stride-1, reflect-padded ``conv``."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.groups != 1:
            raise ValueError("only a plain 3x3 stride-1 convolution folds")
        self.conv = conv
        self.weight = nn.Parameter(folded_kernel(conv.weight.detach()), requires_grad=False)
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(conv.out_channels)
        self.bias = nn.Parameter(bias.repeat_interleave(4), requires_grad=False)

    def original(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inner = F.pixel_shuffle(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.weight, self.bias), 2)
        # The outermost lines, the original way: a two-pixel strip of x gives them exactly.
        left, right = self.original(x[:, :, :, :2])[..., :1], self.original(x[:, :, :, -2:])[..., -1:]
        out = torch.cat([left, inner[..., 1:-1], right], dim=3)
        top, bottom = self.original(x[:, :, :2, :])[..., :1, :], self.original(x[:, :, -2:, :])[..., -1:, :]
        return torch.cat([top, out[..., 1:-1, :], bottom], dim=2)


class ExportedStyleNet(StyleNet):
    """A copy of ``net`` whose last upsampling and convolution are folded (``UpsampledConv``): same
    inputs, same outputs, same parameter names (user styles append rows to them in the ONNX file)."""

    def __init__(self, net: StyleNet) -> None:
        super().__init__(net.styles, **shape_of(net))
        self.load_state_dict(net.state_dict())
        self.tail = UpsampledConv(self.out)

    def forward(self, rgb: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.tail(self.half_size(rgb, style)))
