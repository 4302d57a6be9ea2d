"""Engines: backends agree with PyTorch, auto-selection, INT8 builds (gate, cache keys, damaged cache)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED, needs_shared

from deepphoto.assets import demo_clip
from deepphoto.calibration.source import CalibrationFrames
from deepphoto.engines import build as engine_build
from deepphoto.engines.cache import lookup
from deepphoto.engines.models import model_spec
from deepphoto.errors import DeepPhotoError
from deepphoto.segmenters.lightnet import LightNetSegmenter


@pytest.fixture(scope="module")
def int8_lightnet(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One INT8 LightNet build into a private cache, calibrated on the demo footage (the shared
    validation portraits, where present, gate it)."""
    cache, clip = tmp_path_factory.mktemp("cache"), demo_clip()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEEPPHOTO_CACHE", str(cache))
        mp.setenv("DEEPPHOTO_SHARED_DATA", str(SHARED))
        spec = model_spec("lightnet")
        built = engine_build.build(spec, "onnx", "int8", calib=clip)
        yield spec, built, clip


def test_onnx_fp32_and_int8_agree_with_pytorch(int8_lightnet) -> None:  # noqa: ANN001
    torch_seg = LightNetSegmenter("torch")
    fp32 = LightNetSegmenter("onnx", precision="fp32")
    int8 = LightNetSegmenter("onnx", precision="int8")
    assert int8.engine.precision == "int8"
    for x in CalibrationFrames(int8_lightnet[2], (256, 256), limit=4, every=17):
        ref = torch_seg.infer(x)
        assert np.abs(fp32.infer(x) - ref).max() < 1e-3  # stated tolerance, float
        got = int8.infer(x)
        assert np.abs(got - ref).mean() < 0.03  # stated tolerance, INT8: mean probability error
        a, b = got > 0.5, ref > 0.5
        assert np.logical_and(a, b).sum() >= 0.9 * max(1, np.logical_or(a, b).sum())  # mask IoU >= 0.9


def test_int8_build_records_its_gate_and_speed(int8_lightnet) -> None:
    _, built, _ = int8_lightnet
    info = built.info
    assert info["calibration_frames"] > 8
    assert "gate" in info and info["use"] in ("int8", "fp32")
    assert info["ms"] > 0 and info["float_ms"] > 0 and info["speedup"] == pytest.approx(info["float_ms"] / info["ms"])


@needs_shared
def test_quantized_lightnet_passes_its_iou_gate(int8_lightnet) -> None:
    info = int8_lightnet[1].info
    assert info["passed"] and info["use"] == "int8"
    assert info["drop_points"] <= 1.0 and info["iou"] > 0.8


@pytest.mark.parametrize(
    ("record", "runs"),
    [
        ({"use": "int8", "speedup": 1.61}, "int8"),  # LightNet: clearly faster
        ({"use": "int8", "speedup": 1.01}, "fp32"),  # a tie on a busy machine keeps float
        ({"use": "int8", "speedup": 0.87}, "fp32"),
        ({"use": "fp32", "speedup": 2.0}, "fp32"),  # failed its gate
        ({}, "fp32"),
    ],
)
def test_auto_precision_takes_int8_only_where_it_is_clearly_faster(record: dict, runs: str) -> None:
    assert engine_build.cpu_auto_precision(record) == runs


def test_cache_keys_change_with_model_and_precision(tmp_path: Path) -> None:
    spec = model_spec("lightnet")
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    a.write_bytes(b"model one")
    b.write_bytes(b"model two")
    keys = {}
    for name, path in (("a", a), ("b", b)):
        other = dataclasses.replace(spec, float_onnx=lambda _w, p=path: p)
        for precision in ("int8", "fp16"):
            keys[(name, precision)] = engine_build.engine_key(other, "onnx", precision, None).stem
    assert len(set(keys.values())) == 4
    assert "int8" in keys[("a", "int8")] and keys[("a", "int8")] != keys[("b", "int8")]
    key = engine_build.engine_key(spec, "onnx", "int8", None)
    for change in ({"backend_version": "ort9.9"}, {"device": "other cpu"}, {"recipe": "r999"}):
        assert dataclasses.replace(key, **change).stem != key.stem


def test_damaged_cache_is_rebuilt_not_loaded(int8_lightnet, capsys) -> None:  # noqa: ANN001
    spec, built, clip = int8_lightnet
    key = engine_build.engine_key(spec, "onnx", "int8", None)
    built.path.write_bytes(built.path.read_bytes()[:1000])  # a half-written file
    assert lookup(key, ".onnx") is None  # refused, and removed
    assert "damaged" in capsys.readouterr().err
    rebuilt = engine_build.build(spec, "onnx", "int8", calib=clip)
    assert rebuilt.path.stat().st_size > 100_000
    again = lookup(key, ".onnx")
    assert again is not None and again.info["sha256"] == rebuilt.info["sha256"]
    seg = LightNetSegmenter("onnx", precision="int8")  # loads what was rebuilt
    w, h = seg.input_size
    assert seg.low_res(np.zeros((120, 160, 3), np.uint8)).shape == (h // 2, w // 2)  # the shipped finer level


def test_file_digest_is_remembered_but_follows_changes(tmp_path: Path) -> None:
    import hashlib
    import os

    from deepphoto.assets import sha256_of

    f = tmp_path / "model.onnx"
    f.write_bytes(b"a" * 4096)
    assert sha256_of(f) == hashlib.sha256(b"a" * 4096).hexdigest()
    st = f.stat()
    f.write_bytes(b"b" * 4096)  # same size, rewritten in place
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert sha256_of(f) == hashlib.sha256(b"b" * 4096).hexdigest()
    f.write_bytes(b"c")
    assert sha256_of(f) == hashlib.sha256(b"c").hexdigest()


def test_auto_backend_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from deepphoto.engines import tensorrt_engine

    monkeypatch.setattr(tensorrt_engine, "tensorrt_status", lambda: (False, "absent"))
    monkeypatch.setattr(engine_build, "cuda_for_torch", lambda: False)
    monkeypatch.setattr(engine_build, "ort_has_cuda", lambda: False)
    assert engine_build.auto_backends() == ["onnx", "torch"]
    monkeypatch.setattr(engine_build, "cuda_for_torch", lambda: True)
    assert engine_build.auto_backends() == ["torch", "onnx"]
    monkeypatch.setattr(engine_build, "ort_has_cuda", lambda: True)
    assert engine_build.auto_backends() == ["onnx", "torch"]
    monkeypatch.setattr(tensorrt_engine, "tensorrt_status", lambda: (True, ""))
    assert engine_build.auto_backends()[0] == "tensorrt"


def test_auto_falls_through_to_the_next_backend_and_says_which(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setattr(engine_build, "auto_backends", lambda: ["tensorrt", "onnx"])
    real_open = engine_build._open

    def fake_open(model, backend, *rest):  # noqa: ANN001, ANN202
        if backend == "tensorrt":
            raise DeepPhotoError("TensorRT cannot run here: no GPU")
        return real_open(model, backend, *rest)

    monkeypatch.setattr(engine_build, "_open", fake_open)
    engine = engine_build.open_engine("lightnet", "auto", "fp32")
    assert engine.name == "onnx"
    assert "backend auto -> onnx" in capsys.readouterr().err


def test_bad_choices_are_one_line_errors() -> None:
    with pytest.raises(DeepPhotoError, match="unknown precision"):
        engine_build.open_engine("lightnet", "onnx", "int4")
    with pytest.raises(DeepPhotoError, match="INT8 runs in ONNX Runtime or TensorRT"):
        engine_build.open_engine("lightnet", "torch", "int8")
    with pytest.raises(DeepPhotoError, match="unknown model"):
        model_spec("resnet")


def test_an_int8_build_prints_nothing_on_stdout(int8_lightnet, tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    """ONNX Runtime's quantizer prints its progress: it belongs on stderr, not in the output of
    `deepphoto edit ... | next-tool` (the first run with a new style builds an engine)."""
    from deepphoto.engines import quantize

    def chatty(*args: object, **kwargs: object) -> int:
        print("Collecting tensor data and making histogram ...")
        raise RuntimeError("stop here")

    clip = int8_lightnet[2]  # the demo footage (the module's engine cache is a private one)
    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    monkeypatch.setattr(quantize, "quantize_int8", chatty)
    with pytest.raises(DeepPhotoError, match="failed"):
        engine_build.build(model_spec("lightnet"), "onnx", "int8", calib=clip)
    out, err = capsys.readouterr()
    assert out == "" and "Collecting tensor data" in err


def test_torch_8bit_pictures_give_the_float_paths_numbers() -> None:
    """``run_image`` (what the stylizer uses on a GPU: 8-bit pictures in and out, conversions where
    the network runs) paints exactly what the float planes and OpenCV's conversions paint; and the
    stylizer's GPU branch, taken here by a CPU engine that says it is on CUDA, is that path."""
    from deepphoto.engines.build import open_engine
    from deepphoto.stylizer import Stylizer

    engine = open_engine("stylenet", "torch", "fp32")
    stylizer = Stylizer("starry-night", engine=engine, scale=0.75)
    rng = np.random.default_rng(5)
    bgr = cv2.GaussianBlur(rng.integers(0, 256, (72, 104, 3), dtype=np.uint8), (7, 7), 0)
    want = stylizer(bgr)  # the float path: the engine is on the CPU
    assert np.abs(want.astype(int) - bgr).mean() > 10  # painted, not passed through
    small = cv2.resize(bgr, (80, 56), interpolation=cv2.INTER_AREA)  # what the stylizer paints at 0.75
    for picture in (small, small[::-1, ::-1], np.ascontiguousarray(small)):  # views with negative strides too
        got = engine.run_image(picture, stylizer.vector)
        rgb = cv2.cvtColor(picture, cv2.COLOR_BGR2RGB).astype(np.float32).transpose(2, 0, 1)[None] * (1 / 255)
        out = engine.run(rgb, stylizer.vector)[0]
        expected = cv2.merge([cv2.convertScaleAbs(np.asarray(out[c], np.float32), alpha=255.0) for c in (2, 1, 0)])
        assert got.dtype == np.uint8 and np.array_equal(got, expected)
    engine.device = "cuda"  # the stylizer now takes its GPU branch, through run_image
    calls = []
    original = engine.run_image
    engine.run_image = lambda *a: calls.append(1) or original(*a)
    assert np.array_equal(stylizer(bgr), want) and calls == [1]
    for wrong in (bgr.astype(np.uint16), bgr[:, :, 0], np.dstack([bgr, bgr[:, :, :1]]), bgr.astype(np.float32)):
        with pytest.raises(DeepPhotoError, match="8-bit BGR"):
            original(wrong, stylizer.vector)
