"""StyleNet's export form (``deepphoto.models.stylenet_export``): the folded tail computes the same
painting as the network it was made from, borders included, in ONNX Runtime too."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepphoto.models.stylenet import StyleNet
from deepphoto.models.stylenet_export import ExportedStyleNet, UpsampledConv, folded_kernel


def _random_net(seed: int, styles: int = 3, width: int = 32, blocks: int = 2, mid: int = 0, fine: int = 0) -> StyleNet:
    torch.manual_seed(seed)
    net = StyleNet(styles, width=width, blocks=blocks, mid=mid, fine=fine).eval()
    with torch.no_grad():  # norms away from identity, so every style paints differently
        for name, p in net.named_parameters():
            if name.endswith((".gamma", ".beta")):
                p.add_(0.3 * torch.randn_like(p))
    return net


@pytest.mark.parametrize("shape", [(16, 16), (24, 40), (64, 48), (96, 136)])
@pytest.mark.parametrize("up", [(0, 0), (32, 16)])
def test_exported_network_paints_as_the_network(shape, up):
    net = _random_net(0, mid=up[0], fine=up[1])  # (32, 16): a way up wider than the way down
    exported = ExportedStyleNet(net).eval()
    rgb = torch.rand(2, 3, *shape)
    style = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
    with torch.no_grad():
        a, b = net(rgb, style), exported(rgb, style)
    assert a.shape == b.shape == (2, 3, *shape)
    torch.testing.assert_close(b, a, atol=2e-6, rtol=0)  # the border lines included


def test_the_folded_kernel_alone_is_exact_inside_and_the_strips_mend_the_border():
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(5, 3, 3, 1, 1, padding_mode="reflect")
    x = torch.rand(1, 5, 9, 11)
    want = conv(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False))
    inner = F.pixel_shuffle(
        F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), folded_kernel(conv.weight), conv.bias.repeat_interleave(4)),
        2,
    )
    torch.testing.assert_close(inner[..., 1:-1, 1:-1], want[..., 1:-1, 1:-1], atol=2e-6, rtol=0)
    assert (inner - want).abs().max() > 1e-3  # without the strips the outermost lines differ
    torch.testing.assert_close(UpsampledConv(conv)(x), want, atol=2e-6, rtol=0)


def test_only_a_plain_3x3_convolution_folds():
    with pytest.raises(ValueError):
        UpsampledConv(torch.nn.Conv2d(4, 4, 3, 1, 1, groups=4))
    with pytest.raises(ValueError):
        UpsampledConv(torch.nn.Conv2d(4, 4, 1))


def test_exported_parameter_names_are_the_networks():
    """User styles append rows to the norms' tables by name in the ONNX file."""
    net = _random_net(2)
    names = {n for n, _ in ExportedStyleNet(net).named_parameters()}
    assert {n for n, _ in net.named_parameters()} <= names


def test_onnx_export_runs_as_torch(tmp_path):
    pytest.importorskip("onnx")
    import onnxruntime as ort

    from deepphoto.models import onnx_cache

    net = _random_net(3, mid=24, fine=12)  # a wider way up: the padded skip exports too
    out = onnx_cache.export_module(
        ExportedStyleNet(net),
        (torch.rand(1, 3, 32, 32), torch.full((1, 3), 1 / 3)),
        tmp_path / "s.onnx",
        ["rgb", "style"],
        ["styled"],
        {"rgb": {0: "N", 2: "H", 3: "W"}, "style": {0: "N"}, "styled": {0: "N", 2: "H", 3: "W"}},
    )
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rgb = np.random.default_rng(4).random((1, 3, 72, 104), dtype=np.float32)  # another size than exported at
    style = np.array([[0.0, 1.0, 0.0]], np.float32)
    got = session.run(None, {"rgb": rgb, "style": style})[0]
    with torch.no_grad():
        want = net(torch.from_numpy(rgb), torch.from_numpy(style)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
