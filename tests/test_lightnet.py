import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepphoto.assets import MOBILENET_V2_IMAGENET, mobilenet_v2_imagenet, sha256_of
from deepphoto.models.lightnet import LightNet, LightNetProb, arch_of
from deepphoto.models.lightnet_io import SHIPPED_LIGHTNET, load_lightnet
from deepphoto.models.mobilenet_v2 import MobileNetV2


@pytest.mark.parametrize("h,w", [(256, 256), (192, 256), (224, 320)])
def test_output_is_two_classes_at_quarter_resolution(h, w):
    net = LightNet(width=32).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, h, w))
    assert out.shape == (2, 2, h // 4, w // 4)
    with torch.no_grad():
        prob = LightNetProb(net)(torch.rand(1, 3, h, w))
    assert prob.shape == (1, 1, h // 4, w // 4)
    assert float(prob.min()) >= 0 and float(prob.max()) <= 1


def test_imagenet_backbone_loads_strictly_and_lightnet_uses_its_names():
    path = mobilenet_v2_imagenet()
    assert MOBILENET_V2_IMAGENET.sha256.startswith("b0353104")
    state = torch.load(path, map_location="cpu", weights_only=True)
    MobileNetV2().load_state_dict(state, strict=True)  # raises on any missing or unexpected key
    net = LightNet()
    encoder_keys = {k.removeprefix("backbone.") for k in net.state_dict() if k.startswith("backbone.")}
    wanted = {k for k in state if not k.startswith(("features.18.", "classifier."))}
    assert encoder_keys == wanted
    net.backbone.load_state_dict({k: state[k] for k in wanted}, strict=True)


def test_shipped_weights_fit_the_size_budget():
    net = load_lightnet()
    params = sum(p.numel() for p in net.parameters())
    assert params * 4 / 1e6 <= 14.0  # float32 megabytes
    assert SHIPPED_LIGHTNET.stat().st_size < 8e6  # shipped in half precision


def test_onnx_and_torch_agree(tmp_path):
    from deepphoto.segmenters.lightnet import LightNetSegmenter

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    frame[60:200, 100:220] = (40, 80, 200)  # some structure, not only noise
    torch_seg = LightNetSegmenter("torch")
    onnx_seg = LightNetSegmenter("onnx")
    for size in [(256, 256), (320, 192)]:
        torch_seg.input_size = onnx_seg.input_size = size
        a, b = torch_seg(frame), onnx_seg(frame)
        assert a.shape == b.shape == frame.shape[:2]
        assert np.abs(a - b).max() < 1e-3


def test_a_damaged_onnx_cache_entry_is_rebuilt(tmp_path, monkeypatch, capsys):
    """Weights other than the shipped ones are exported into the cache; a damaged entry is redone."""
    from deepphoto.models.lightnet_io import cached_onnx
    from deepphoto.models.weights import save_weights
    from deepphoto.segmenters.lightnet import LightNetSegmenter

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    weights = tmp_path / "fine-tune.safetensors"
    net = load_lightnet()
    next(net.parameters()).data.mul_(0.9)
    save_weights(net, weights, kind="lightnet", config=arch_of(net))
    path = cached_onnx(weights)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # a crash mid-write, a full disk...
    seg = LightNetSegmenter("onnx", weights=weights)
    assert "damaged" in capsys.readouterr().err
    assert path.read_bytes() == good
    assert seg(np.zeros((32, 32, 3), np.uint8)).shape == (32, 32)


def test_export_average_writes_the_mean_of_two_fine_tunes(tmp_path, capsys):
    from deepphoto.commands.cli import main
    from deepphoto.models.weights import save_weights

    a, b = LightNet(width=16), LightNet(width=16)
    save_weights(a, tmp_path / "a.safetensors", kind="lightnet", config={"width": 16, "step": 1})
    save_weights(b, tmp_path / "b.safetensors", kind="lightnet", config={"width": 16, "step": 2})
    out = tmp_path / "soup.safetensors"
    args = ["export", "lightnet", "--average", str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors")]
    assert main([*args, "--safetensors", str(out)]) == 0
    soup = load_lightnet(out).state_dict()
    wa, wb = (
        load_lightnet(tmp_path / "a.safetensors").state_dict(),
        load_lightnet(tmp_path / "b.safetensors").state_dict(),
    )
    key = "head.weight" if "head.weight" in soup else next(k for k in soup if k.endswith("weight"))
    assert not torch.equal(wa[key], wb[key])
    assert torch.allclose(soup[key], (wa[key] + wb[key]) / 2, atol=1e-3)  # float16 on disk

    save_weights(LightNet(width=32), tmp_path / "wide.safetensors", kind="lightnet", config={"width": 32})
    wide = [*args[:3], str(tmp_path / "a.safetensors"), str(tmp_path / "wide.safetensors")]
    assert main([*wide, "--safetensors", str(out)]) == 2
    assert "differ" in capsys.readouterr().err
    assert main([*args[:3], str(tmp_path / "a.safetensors"), "--safetensors", str(out)]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main([*args, "--checkpoint", str(tmp_path / "x.pt"), "--safetensors", str(out)]) == 2
    assert "not both" in capsys.readouterr().err


def test_export_average_first_architecture_drops_the_level_a_fine_tune_added(tmp_path, capsys):
    """WiSE-FT's midpoint of a shipped network and a fine-tune that grew a finer level: the
    shipped network's tensors averaged, the new level's left out; the other order is refused."""
    from deepphoto.commands.cli import main
    from deepphoto.models.weights import save_weights

    base, grown = LightNet(width=16), LightNet(width=16, fine_level=8)
    save_weights(base, tmp_path / "base.safetensors", kind="lightnet", config={"width": 16})
    save_weights(grown, tmp_path / "grown.safetensors", kind="lightnet", config={"width": 16, "fine_level": 8})
    out = tmp_path / "wise.safetensors"
    pair = [str(tmp_path / "base.safetensors"), str(tmp_path / "grown.safetensors")]
    assert main(["export", "lightnet", "--average", *pair, "--safetensors", str(out)]) == 2
    assert "differ" in capsys.readouterr().err
    assert main(["export", "lightnet", "--average", *pair, "--first-architecture", "--safetensors", str(out)]) == 0
    wise = load_lightnet(out)
    assert wise.fine_level == 0 and not any(k.startswith("fine_") for k in wise.state_dict())
    wb, wg = base.state_dict(), grown.state_dict()
    key = next(k for k in wb if k.endswith("weight") and not torch.equal(wb[k], wg[k]))
    assert torch.allclose(wise.state_dict()[key], (wb[key] + wg[key]) / 2, atol=1e-3)
    flipped = ["export", "lightnet", "--average", *pair[::-1], "--first-architecture", "--safetensors", str(out)]
    assert main(flipped) == 2
    assert "differ" in capsys.readouterr().err
    assert main(["export", "lightnet", "--first-architecture", "--safetensors", str(out)]) == 2
    assert "goes with --average" in capsys.readouterr().err


@pytest.mark.parametrize("h,w", [(1, 1), (3, 7), (11, 6), (24, 32)])
def test_separable_max_pool_is_the_5x5_pool_exactly(h, w):
    from deepphoto.models.lightnet import max_pool5

    x = torch.randn(2, 4, h, w) * 5 - 3  # negative values too: padding must never win
    assert torch.equal(max_pool5(x), F.max_pool2d(x, 5, stride=1, padding=2))


def test_shipped_onnx_has_the_separable_pools_and_the_networks_numbers():
    import onnx

    from deepphoto.models.shipped import onnx_weights_hash, shipped_onnx

    path = shipped_onnx("lightnet")
    graph = onnx.load(str(path)).graph
    kernels = {
        tuple(a.ints) for n in graph.node if n.op_type == "MaxPool" for a in n.attribute if a.name == "kernel_shape"
    }
    assert kernels == {(1, 5), (5, 1)}
    assert onnx_weights_hash(path) == sha256_of(SHIPPED_LIGHTNET)
