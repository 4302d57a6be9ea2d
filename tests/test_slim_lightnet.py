"""Cutting a trained LightNet down (deepphoto.training.slim): each cut keeps what it says it keeps."""

from __future__ import annotations

import pytest
import torch

from deepphoto.models.lightnet import LightNet, arch_of, lightnet_of
from deepphoto.training.slim import fewer_stages, narrower, one_by_one_heads, slim


def _net(head: int = 3) -> LightNet:
    torch.manual_seed(0)
    net = LightNet(width=32, crp_stages=4, fine_level=8, head=head)
    torch.nn.init.normal_(net.fine_classifier.weight, std=0.1)  # not the zero start: the level counts
    return net.eval()


def _images(n: int = 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.rand(1, 3, 64, 96, generator=g) for _ in range(n)]


@torch.no_grad()
def test_all_stages_and_channels_kept_is_the_same_network() -> None:
    net, x = _net(), _images(1)[0]
    same = narrower(fewer_stages(net, 4), [torch.arange(32)] * 4)
    torch.testing.assert_close(same(x), net(x))


@torch.no_grad()
def test_fewer_stages_keeps_the_first_ones() -> None:
    net, x = _net(), _images(1)[0]
    for block in net.crp:  # the later stages add nothing: cutting them changes nothing
        for conv in block.convs[2:]:
            conv.weight.zero_()
    cut = fewer_stages(net, 2)
    assert cut.crp_stages == 2 and len(cut.crp[3].convs) == 2
    torch.testing.assert_close(cut(x), net(x))


@torch.no_grad()
def test_narrower_keeps_the_channels_that_carry_the_output() -> None:
    net, x = _net(), _images(1)[0]
    g = torch.Generator().manual_seed(2)
    keep = [torch.sort(torch.randperm(32, generator=g)[:12]).values for _ in range(4)]  # other channels per level
    for level, k in enumerate(keep):  # a level's channels cut: nothing reads them, so cutting changes nothing
        dead = torch.tensor([c for c in range(32) if c not in set(k.tolist())])
        for conv in net.crp[level].convs:
            conv.weight[:, dead] = 0
        readers = [net.adapt[level]] if level < 3 else [net.classifier, net.fine_adapt]
        for conv in readers:
            conv.weight[:, dead] = 0
    cut = narrower(net, keep)
    assert cut.width == 12
    torch.testing.assert_close(cut(x), net(x), atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_one_by_one_heads_fit_centre_only_kernels() -> None:
    net, images = _net(), _images()
    for conv in (net.classifier, net.fine_classifier):  # a 3x3 kernel whose only tap is the centre
        centre = conv.weight[:, :, 1, 1].clone()
        conv.weight.zero_()
        conv.weight[:, :, 1, 1] = centre
    fitted = one_by_one_heads(net, net, images)
    assert fitted.head == 1 and fitted.classifier.kernel_size == (1, 1)
    error = (fitted(images[0]) - net(images[0])).abs()
    scale = net(images[0]).abs()
    assert error.max() < 0.02 * scale.max()  # a lightly ridged least-squares fit, not bit for bit


@torch.no_grad()
def test_slim_shape_and_round_trip(tmp_path) -> None:
    from deepphoto.models.weights import read_weights, save_weights

    net, images = _net(), _images()
    cut = slim(net, images, width=16, stages=2)
    assert arch_of(cut) == {"width": 16, "crp_stages": 2, "fine_level": 8, "head": 1}
    assert cut(images[0]).shape == net(images[0]).shape
    path = tmp_path / "cut.safetensors"
    save_weights(cut, path, kind="lightnet", config=arch_of(cut), half=False)
    state, config = read_weights(path, kind="lightnet")
    again = lightnet_of(config)
    again.load_state_dict(state)
    torch.testing.assert_close(again.eval()(images[0]), cut(images[0]))


def test_bad_cuts_refused() -> None:
    net = _net()
    with pytest.raises(ValueError):
        slim(net, _images(1), width=64, stages=2)
    with pytest.raises(ValueError):
        fewer_stages(net, 5)
    with pytest.raises(ValueError):
        slim(net, _images(1), width=16, stages=2, head=5)
    with pytest.raises(ValueError):
        LightNet(width=16, head=5)


def test_head_three_is_left_out_of_the_config() -> None:
    assert "head" not in arch_of(LightNet(width=16))  # v1's files and configs stay as they were
    assert lightnet_of({"width": 16}).head == 3
