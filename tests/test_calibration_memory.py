"""INT8 calibration holds the activations of a few feeds at a time, not of all of them (LightNet's
64 feeds at 352x352 took 18 GB, and a first `run` was killed on a machine with less): ONNX
Runtime's histograms are merged chunk by chunk, every feed still counted."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime.quantization")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.quantization.calibrate import HistogramCalibrater  # noqa: E402

from deepphoto.engines import quantize  # noqa: E402


def tiny_conv(path) -> None:
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), "w")
    node = helper.make_node("Conv", ["rgb", "w"], ["out"], pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [node],
        "tiny",
        [helper.make_tensor_value_info("rgb", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 16, 16])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_calibration_holds_a_few_feeds_at_a_time(tmp_path, monkeypatch):
    held: list[int] = []
    clear = HistogramCalibrater.clear_collected_data

    def counting(self) -> None:
        held.append(len(self.intermediate_outputs))
        clear(self)

    monkeypatch.setattr(HistogramCalibrater, "clear_collected_data", counting)
    tiny_conv(tmp_path / "float.onnx")
    rng = np.random.default_rng(1)
    feeds = [rng.random((1, 3, 16, 16), dtype=np.float32) for _ in range(10)]
    fed = quantize.quantize_int8(tmp_path / "float.onnx", tmp_path / "int8.onnx", feeds)
    assert fed == 10
    assert max(held) <= quantize.CALIBRATION_CHUNK and sum(held) == 10, held
    assert (tmp_path / "int8.onnx").stat().st_size > 0
    assert HistogramCalibrater.collect_data.__name__ == "collect_data"  # ONNX Runtime's own again
