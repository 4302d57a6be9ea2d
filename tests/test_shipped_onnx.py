"""The ONNX files in the package are the shipped weights, exported by the project's own command."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from deepphoto.assets import sha256_of
from deepphoto.engines.models import float_onnx
from deepphoto.models.shipped import SHIPPED, onnx_weights_hash, shipped_onnx

MODELS = ("lightnet", "stylenet")


@pytest.mark.parametrize("model", MODELS)
def test_onnx_records_the_shipped_weights(model):
    assert onnx_weights_hash(shipped_onnx(model)) == sha256_of(SHIPPED[model])
    assert float_onnx(model) == shipped_onnx(model)  # first use never exports


def _run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


@pytest.mark.parametrize("model", MODELS)
def test_onnx_matches_a_fresh_export_of_the_weights(model, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    if model == "lightnet":
        from deepphoto.models.lightnet_io import export_onnx
    else:
        from deepphoto.models.styles import export_onnx
    fresh = export_onnx(SHIPPED[model], tmp_path / f"{model}.onnx")
    rng = np.random.default_rng(0)
    feeds = {"rgb": rng.random((1, 3, 96, 128), dtype=np.float32)}
    if model == "stylenet":
        style = np.zeros((1, len(_styles())), np.float32)
        style[0, 1] = 1.0
        feeds["style"] = style
    shipped, again = _run(shipped_onnx(model), feeds), _run(fresh, feeds)
    assert shipped.shape == again.shape
    np.testing.assert_allclose(shipped, again, atol=1e-5)


def _styles():
    from deepphoto.models.shipped import style_names

    return style_names()


def test_other_weights_are_not_given_the_shipped_onnx(tmp_path):
    """Weights that differ from the shipped ones must never run as the shipped ONNX file."""
    pytest.importorskip("torch")
    from deepphoto.models.lightnet import arch_of
    from deepphoto.models.lightnet_io import load_lightnet
    from deepphoto.models.weights import save_weights

    net = load_lightnet()
    for p in net.parameters():
        p.data.mul_(0.5)
        break
    other = tmp_path / "other.safetensors"
    save_weights(net, other, kind="lightnet", config=arch_of(net))
    assert float_onnx("lightnet", other) != shipped_onnx("lightnet")
