"""The TensorRT backend: calibrator, builder driving and engine running against a fake ``tensorrt``
module and host-memory "device" buffers; the real build-and-compare runs only with TensorRT and a GPU."""

import sys
import types

import cv2
import numpy as np
import pytest

from deepphoto.calibration.source import CalibrationFrames
from deepphoto.calibration.trt_calibrator import make_entropy_calibrator
from deepphoto.engines import cuda_memory
from deepphoto.engines.tensorrt_engine import TensorRTEngine, build_serialized_engine, tensorrt_status
from deepphoto.errors import DeepPhotoError
from deepphoto.training.seg_data import is_validation

TRT_OK, TRT_REASON = tensorrt_status()

# ------------------------------------------------------------------------------- host-memory "device"


class HostCuda:
    """A cuda_memory backend whose device memory is host memory, addressed by real pointers."""

    name = "host-fake"

    def __init__(self):
        self.memory = {}  # ptr -> uint8 array
        self.freed = []

    def malloc(self, nbytes):
        mem = np.zeros(nbytes, np.uint8)
        self.memory[mem.ctypes.data] = mem
        return mem.ctypes.data, mem.ctypes.data

    def free(self, handle):
        self.freed.append(handle)
        del self.memory[handle]

    def view(self, ptr, dtype, shape):
        return self.memory[ptr][: int(np.prod(shape)) * np.dtype(dtype).itemsize].view(dtype).reshape(shape)

    def htod(self, ptr, host, stream):
        self.memory[ptr][: host.nbytes] = host.reshape(-1).view(np.uint8)

    def dtoh(self, host, ptr, stream):
        host.reshape(-1).view(np.uint8)[:] = self.memory[ptr][: host.nbytes]

    def stream_create(self):
        return "stream", 1234

    def stream_sync(self, stream):
        pass

    def stream_destroy(self, stream):
        pass


@pytest.fixture
def host_cuda(monkeypatch):
    fake = HostCuda()
    monkeypatch.setattr(cuda_memory, "backend", lambda: fake)
    return fake


# ----------------------------------------------------------------------------------- fake tensorrt


def fake_tensorrt(
    version="10.3.0", fp16=True, int8=True, parse_errors=(), plan=b"PLAN", qdq=False, pool=True, style_input=False
):
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.calls = []

    class Logger:
        WARNING = "warning"

        def __init__(self, severity):
            self.severity = severity

    class Calibrator:
        def __init__(self):
            self.base_initialised = True

    class ParserError:
        def __init__(self, text):
            self.text = text

        def desc(self):
            return self.text

    class Input:
        def __init__(self, name, shape):
            self.name, self.shape = name, shape

    class Layer:
        def __init__(self, kind):
            self.type = kind

    class Network:
        def __init__(self, flags):
            self.flags = flags
            self.inputs = [Input("rgb", (-1, 3, -1, -1))] + ([Input("style", (1, 5))] if style_input else [])
            self.layers = [Layer("conv")] + ([Layer("quantize")] if qdq else [])
            self.num_inputs, self.num_layers = len(self.inputs), len(self.layers)

        def get_input(self, i):
            return self.inputs[i]

        def get_layer(self, i):
            return self.layers[i]

    class OnnxParser:
        def __init__(self, network, logger):
            self.num_errors = len(parse_errors)

        def parse(self, data, path):
            trt.calls.append(("parse", len(data), path))
            return not parse_errors

        def get_error(self, i):
            return ParserError(parse_errors[i])

    class Profile:
        def __init__(self):
            self.shapes = {}

        def set_shape(self, name, low, opt, high):
            self.shapes[name] = (low, opt, high)

    class Config:
        def __init__(self):
            self.flags, self.profiles, self.int8_calibrator = set(), [], None
            self.calibration_profile = None
            if pool:
                self.set_memory_pool_limit = lambda kind, size: trt.calls.append(("pool", kind, size))

        def set_flag(self, flag):
            self.flags.add(flag)

        def add_optimization_profile(self, profile):
            self.profiles.append(profile)

        def set_calibration_profile(self, profile):
            self.calibration_profile = profile

    class Builder:
        platform_has_fast_fp16, platform_has_fast_int8 = fp16, int8

        def __init__(self, logger):
            trt.builder = self

        def create_network(self, flags):
            self.network = Network(flags)
            return self.network

        def create_builder_config(self):
            self.config = Config()
            return self.config

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            calibrator = config.int8_calibrator
            names = [t.name for t in network.inputs]
            while calibrator is not None and calibrator.get_batch(names) is not None:
                pass
            return plan

    trt.Logger, trt.Builder, trt.OnnxParser = Logger, Builder, OnnxParser
    trt.IInt8EntropyCalibrator2 = Calibrator
    trt.init_libnvinfer_plugins = lambda logger, namespace: trt.calls.append(("plugins", namespace))
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(EXPLICIT_BATCH=0)  # as in 8.x: flag 1 << 0
    trt.BuilderFlag = types.SimpleNamespace(FP16="FP16", INT8="INT8")
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")
    trt.LayerType = types.SimpleNamespace(QUANTIZE="quantize", DEQUANTIZE="dequantize")
    trt.TensorIOMode = types.SimpleNamespace(INPUT="in", OUTPUT="out")
    trt.nptype = lambda dtype: dtype
    return trt


@pytest.fixture
def onnx_file(tmp_path):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"not really onnx; the fake parser only counts bytes")
    return path


SHAPES = {"rgb": ((1, 3, 64, 64), (1, 3, 256, 256), (1, 3, 512, 512))}


def calibration_folder(tmp_path, count=6):
    folder = tmp_path / "calib"
    folder.mkdir()
    for i in range(count):
        cv2.imwrite(str(folder / f"frame{i}.png"), np.full((24, 40, 3), 20 * i + 10, np.uint8))
    return folder


# ------------------------------------------------------------------------------------- calibrator


def test_calibrator_feeds_the_shared_source_then_caches(tmp_path, monkeypatch, host_cuda):
    trt = fake_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    folder = calibration_folder(tmp_path)
    expected = [b for b in CalibrationFrames(folder, (64, 32))]
    kept = [p for p in folder.iterdir() if not is_validation(p.stem)]
    assert len(expected) == len(kept) >= 1

    cache = tmp_path / "cache" / "lightnet.calib"
    cal = make_entropy_calibrator(CalibrationFrames(folder, (64, 32)), cache)
    assert isinstance(cal, trt.IInt8EntropyCalibrator2) and cal.base_initialised
    assert cal.get_batch_size() == 1 and cal.shape == (1, 3, 32, 64)
    assert cal.read_calibration_cache() is None

    for frame in expected:
        pointers = cal.get_batch(["rgb"])
        assert len(pointers) == 1 and isinstance(pointers[0], int)
        np.testing.assert_array_equal(host_cuda.view(pointers[0], np.float32, frame.shape), frame)
    assert cal.get_batch(["rgb"]) is None
    assert cal.fed == len(expected) and cal.error is None
    assert host_cuda.freed == [pointers[0]]  # the one batch buffer, freed when the frames ran out

    cal.write_calibration_cache(memoryview(b"TRT-8601-EntropyCalibration2\nrgb: 3c010a14\n"))
    assert cache.read_bytes().startswith(b"TRT-8601") and list(cache.parent.iterdir()) == [cache]
    again = make_entropy_calibrator(CalibrationFrames(folder, (64, 32)), cache)
    assert again.read_calibration_cache() == cache.read_bytes()


def test_calibrator_batch_size_follows_the_frames(tmp_path, monkeypatch, host_cuda):
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt())
    frames = [np.full((4, 3, 8, 8), k, np.float32) for k in range(3)]
    cal = make_entropy_calibrator(frames, tmp_path / "c.calib")
    assert cal.get_batch_size() == 4
    ptr = cal.get_batch(["rgb"])[0]
    assert host_cuda.view(ptr, np.float32, (4, 3, 8, 8)).max() == 0
    assert cal.get_batch(["rgb"]) == [ptr]  # the same buffer, refilled
    assert host_cuda.view(ptr, np.float32, (4, 3, 8, 8)).min() == 1


def test_calibrator_feeds_several_inputs_in_the_order_asked(tmp_path, monkeypatch, host_cuda):
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt())
    feeds = [
        {"rgb": np.full((1, 3, 8, 8), 0.5, np.float32), "style": np.eye(5, dtype=np.float32)[k : k + 1]}
        for k in range(2)
    ]
    cal = make_entropy_calibrator(feeds, tmp_path / "s.calib")
    assert cal.shapes == {"rgb": (1, 3, 8, 8), "style": (1, 5)} and cal.get_batch_size() == 1
    for k in range(2):
        style_ptr, rgb_ptr = cal.get_batch(["style", "rgb"])
        np.testing.assert_array_equal(host_cuda.view(style_ptr, np.float32, (1, 5)), feeds[k]["style"])
        assert host_cuda.view(rgb_ptr, np.float32, (1, 3, 8, 8)).min() == 0.5
    assert cal.get_batch(["style", "rgb"]) is None and cal.fed == 2


def test_calibrator_keeps_errors_instead_of_raising_into_tensorrt(tmp_path, monkeypatch, host_cuda):
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt())
    cal = make_entropy_calibrator([np.zeros((1, 3, 8, 8), np.float32)], tmp_path / "c.calib")
    assert cal.get_batch(["style"]) is None
    assert "rgb" in cal.error and cal.fed == 0


def test_calibrator_needs_frames_or_a_cache(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt())
    with pytest.raises(DeepPhotoError, match="no calibration frames"):
        make_entropy_calibrator([], tmp_path / "absent.calib", allocate=lambda n: None)
    (tmp_path / "old.calib").write_bytes(b"cache")
    cal = make_entropy_calibrator([], tmp_path / "old.calib", allocate=lambda n: None)
    assert cal.read_calibration_cache() == b"cache" and cal.get_batch(["rgb"]) is None


# ------------------------------------------------------------------------------ building (fake trt)


@pytest.mark.parametrize(
    ("precision", "missing", "advice"),
    [("int8", {"int8": False}, ("precision='fp16'", "--precision fp16")), ("fp16", {"fp16": False}, ("fp32", "fp32"))],
)
def test_a_gpu_without_the_fast_path_is_refused_with_advice(monkeypatch, onnx_file, precision, missing, advice):
    """The advice names the option as the caller gives it: a Python argument from the library, a
    flag from the command line (hunt 32's per-context wording)."""
    from deepphoto.errors import command_line

    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt(**missing))
    with pytest.raises(DeepPhotoError, match=advice[0]):
        build_serialized_engine(onnx_file, precision, SHAPES)
    with command_line(), pytest.raises(DeepPhotoError, match=advice[1]):
        build_serialized_engine(onnx_file, precision, SHAPES)


def test_parser_errors_reach_the_message(monkeypatch, onnx_file):
    errors = ("Unsupported ONNX data type: UINT8", "node Resize_12: bad mode")
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt(parse_errors=errors))
    with pytest.raises(DeepPhotoError, match="UINT8; node Resize_12: bad mode"):
        build_serialized_engine(onnx_file, "fp16", SHAPES)


def test_failed_build_is_an_error(monkeypatch, onnx_file):
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt(plan=None))
    with pytest.raises(DeepPhotoError, match="could not build"):
        build_serialized_engine(onnx_file, "fp32", SHAPES)


def test_fp16_build_on_tensorrt_10(monkeypatch, onnx_file):
    trt = fake_tensorrt("10.3.0")
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    assert build_serialized_engine(onnx_file, "fp16", SHAPES, workspace_mb=256) == b"PLAN"
    b = trt.builder
    assert b.network.flags == 0  # explicit batch is the only mode on 10.x
    assert ("pool", "WORKSPACE", 256 << 20) in trt.calls and ("plugins", "") in trt.calls
    assert b.config.flags == {"FP16"}
    assert [p.shapes for p in b.config.profiles] == [SHAPES]
    assert ("parse", onnx_file.stat().st_size, str(onnx_file)) in trt.calls


def test_build_on_tensorrt_8_2_uses_explicit_batch_and_max_workspace(monkeypatch, onnx_file):
    trt = fake_tensorrt("8.2.1.8", pool=False)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    build_serialized_engine(onnx_file, "fp32", SHAPES, workspace_mb=512)
    assert trt.builder.network.flags == 1
    assert trt.builder.config.max_workspace_size == 512 << 20 and trt.builder.config.flags == set()


def test_dynamic_input_without_shapes_is_refused(monkeypatch, onnx_file):
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt())
    with pytest.raises(DeepPhotoError, match="min/opt/max"):
        build_serialized_engine(onnx_file, "fp32", {})
    with pytest.raises(DeepPhotoError, match="min <= opt <= max"):
        build_serialized_engine(onnx_file, "fp32", {"rgb": ((1, 3, 512, 512), (1, 3, 256, 256), (1, 3, 64, 64))})


def test_int8_with_calibrator_calibrates_at_the_frames_shape(tmp_path, monkeypatch, onnx_file, host_cuda):
    trt = fake_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    frames = [np.full((1, 3, 32, 64), k / 4, np.float32) for k in range(3)]
    cal = make_entropy_calibrator(frames, tmp_path / "l.calib")
    assert build_serialized_engine(onnx_file, "int8", SHAPES, calibrator=cal) == b"PLAN"
    config = trt.builder.config
    assert config.int8_calibrator is cal and config.flags == {"INT8", "FP16"}
    assert config.calibration_profile.shapes == {"rgb": ((1, 3, 32, 64),) * 3}
    assert cal.fed == 3


def test_int8_calibration_failure_is_raised_after_the_build(tmp_path, monkeypatch, onnx_file, host_cuda):
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt())
    frames = [np.zeros((1, 3, 32, 64), np.float32), np.zeros((1, 3, 64, 64), np.float32)]
    cal = make_entropy_calibrator(frames, tmp_path / "l.calib")
    with pytest.raises(DeepPhotoError, match=r"calibration failed: calibration rgb \(1, 3, 64, 64\) differs"):
        build_serialized_engine(onnx_file, "int8", SHAPES, calibrator=cal)


def test_int8_calibrator_must_feed_every_input(tmp_path, monkeypatch, onnx_file, host_cuda):
    trt = fake_tensorrt(style_input=True)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    only_rgb = make_entropy_calibrator([np.zeros((1, 3, 32, 64), np.float32)], tmp_path / "a.calib")
    with pytest.raises(DeepPhotoError, match="also takes style"):
        build_serialized_engine(onnx_file, "int8", SHAPES, calibrator=only_rgb)
    both = [{"rgb": np.zeros((1, 3, 32, 64), np.float32), "style": np.ones((1, 5), np.float32)}]
    cal = make_entropy_calibrator(both, tmp_path / "b.calib")
    assert build_serialized_engine(onnx_file, "int8", SHAPES, calibrator=cal) == b"PLAN"
    assert cal.fed == 1 and trt.builder.config.calibration_profile.shapes == {"rgb": ((1, 3, 32, 64),) * 3}


def test_int8_without_calibrator_needs_a_qdq_onnx(monkeypatch, onnx_file):
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt(qdq=False))
    with pytest.raises(DeepPhotoError, match="QuantizeLinear"):
        build_serialized_engine(onnx_file, "int8", SHAPES)
    trt = fake_tensorrt(qdq=True)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    assert build_serialized_engine(onnx_file, "int8", SHAPES) == b"PLAN"
    assert trt.builder.config.int8_calibrator is None and "INT8" in trt.builder.config.flags


# ------------------------------------------------------------------------------- running (fake trt)


class FakePlanEngine:
    """A 'network' rgb (N,3,H,W) -> prob (N,1,H/4,W/4) float16: the mean over channels, subsampled."""

    def __init__(self, cuda):
        self.cuda = cuda
        self.decl = {"rgb": (-1, 3, -1, -1), "prob": (-1, 1, -1, -1)}
        self.dtype = {"rgb": np.float32, "prob": np.float16}
        self.names = ["rgb", "prob"]

    def compute(self, shape, rgb_ptr, prob_ptr):
        rgb = self.cuda.view(rgb_ptr, np.float32, shape)
        out = rgb.mean(axis=1, keepdims=True)[:, :, ::4, ::4].astype(np.float16)
        self.cuda.view(prob_ptr, np.float16, out.shape)[:] = out


def named_engine(cuda):
    net = FakePlanEngine(cuda)

    class Context:
        def __init__(self):
            self.shape, self.addr, self.runs = None, {}, 0

        def set_input_shape(self, name, shape):
            self.shape = tuple(shape)
            return shape[2] <= 512 and shape[3] <= 512

        def get_tensor_shape(self, name):
            n, _, h, w = self.shape
            return self.shape if name == "rgb" else (n, 1, h // 4, w // 4)

        def set_tensor_address(self, name, ptr):
            self.addr[name] = ptr

        def execute_async_v3(self, stream_handle):
            assert stream_handle == 1234
            self.runs += 1
            net.compute(self.shape, self.addr["rgb"], self.addr["prob"])
            return True

    class Engine:
        num_io_tensors = 2

        def get_tensor_name(self, i):
            return net.names[i]

        def get_tensor_mode(self, name):
            return "in" if name == "rgb" else "out"

        def get_tensor_dtype(self, name):
            return net.dtype[name]

        def get_tensor_shape(self, name):
            return net.decl[name]

        def create_execution_context(self):
            self.context = Context()
            return self.context

    return Engine()


def bindings_engine(cuda):
    net = FakePlanEngine(cuda)

    class Context:
        shape = None

        def set_binding_shape(self, index, shape):
            self.shape = tuple(shape)
            return True

        def get_binding_shape(self, index):
            n, _, h, w = self.shape
            return self.shape if index == 0 else (n, 1, h // 4, w // 4)

        def execute_async_v2(self, bindings, stream_handle):
            net.compute(self.shape, bindings[0], bindings[1])
            return True

    class Engine:
        num_bindings = 2

        def get_binding_name(self, i):
            return net.names[i]

        def binding_is_input(self, i):
            return i == 0

        def get_binding_dtype(self, i):
            return net.dtype[net.names[i]]

        def get_binding_shape(self, i):
            return net.decl[net.names[i]]

        def create_execution_context(self):
            return Context()

    return Engine()


def install_runtime(monkeypatch, engine):
    trt = fake_tensorrt()

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, plan):
            return engine if plan == b"PLAN" else None

    trt.Runtime = Runtime
    monkeypatch.setitem(sys.modules, "tensorrt", trt)


@pytest.mark.parametrize("api", [named_engine, bindings_engine], ids=["named-tensors", "bindings"])
def test_engine_runs_dynamic_shapes_and_returns_float32(monkeypatch, host_cuda, api):
    install_runtime(monkeypatch, api(host_cuda))
    engine = TensorRTEngine(b"PLAN")
    assert [i.name for i in engine.inputs] == ["rgb"] and engine.inputs[0].shape == ("?", 3, "?", "?")
    assert engine.outputs[0].name == "prob" and engine.outputs[0].dtype == "float16"
    rng = np.random.default_rng(0)
    for h, w in [(64, 64), (256, 128), (64, 64)]:
        x = rng.random((1, 3, h, w), dtype=np.float32)
        out = engine.run(x)
        assert out.dtype == np.float32 and out.shape == (1, 1, h // 4, w // 4)
        np.testing.assert_allclose(out, x.mean(axis=1, keepdims=True)[:, :, ::4, ::4], atol=1e-3)
    # buffers grew once for the larger frame (the first two freed), then were reused
    assert len(host_cuda.freed) == 2 and len(host_cuda.memory) == 2
    engine.close()
    assert len(host_cuda.memory) == 0


def test_engine_refuses_shapes_outside_the_profile(monkeypatch, host_cuda):
    install_runtime(monkeypatch, named_engine(host_cuda))
    engine = TensorRTEngine(b"PLAN")
    with pytest.raises(DeepPhotoError, match="outside the engine's optimization profile"):
        engine.run(np.zeros((1, 3, 1024, 64), np.float32))
    with pytest.raises(DeepPhotoError, match="takes 1 inputs"):
        engine.run(np.zeros((1, 3, 64, 64), np.float32), np.zeros((1, 5), np.float32))


def test_damaged_plan_is_a_one_line_error(monkeypatch, host_cuda):
    install_runtime(monkeypatch, named_engine(host_cuda))
    with pytest.raises(DeepPhotoError, match="another TensorRT version/device"):
        TensorRTEngine(b"garbage")


def test_status_names_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import fails
    ok, reason = tensorrt_status()
    assert not ok and "tensorrt is not installed" in reason
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt("8.6.2"))
    monkeypatch.setattr(cuda_memory, "backend", lambda: None)
    ok, reason = tensorrt_status()
    assert not ok and "8.6.2" in reason and "cuda-python nor pycuda" in reason


# ------------------------------------------------------------------------- real TensorRT and a GPU

needs_tensorrt = pytest.mark.skipif(not TRT_OK, reason=f"needs TensorRT and a CUDA GPU: {TRT_REASON}")
LIGHTNET_SHAPES = {"rgb": ((1, 3, 128, 128), (1, 3, 256, 256), (1, 3, 512, 512))}


@pytest.mark.gpu
@needs_tensorrt
def test_lightnet_fp16_engine_matches_pytorch():
    from deepphoto.models.lightnet_io import cached_onnx
    from deepphoto.segmenters.lightnet import make_seg_engine

    engine = TensorRTEngine(build_serialized_engine(cached_onnx(), "fp16", LIGHTNET_SHAPES))
    reference = make_seg_engine("torch")
    rng = np.random.default_rng(3)
    for h, w in [(256, 256), (192, 320)]:
        x = rng.random((1, 3, h, w), dtype=np.float32)
        got, want = engine.run(x), reference.run(x)
        assert got.shape == want.shape and got.shape[:2] == (1, 1) and h % got.shape[2] == w % got.shape[3] == 0
        assert np.abs(got - want).max() < 2e-2  # FP16 against FP32 on probabilities in [0, 1]
    engine.close()


@pytest.mark.gpu
@needs_tensorrt
def test_lightnet_int8_build_calibrates_once_then_reads_the_cache(tmp_path):
    from deepphoto.models.lightnet_io import cached_onnx

    folder = calibration_folder(tmp_path, count=12)
    cache = tmp_path / "lightnet.calib"
    first = make_entropy_calibrator(CalibrationFrames(folder, (256, 256)), cache)
    try:
        plan = build_serialized_engine(cached_onnx(), "int8", LIGHTNET_SHAPES, calibrator=first)
    except DeepPhotoError as exc:
        if "no fast INT8" in str(exc):
            pytest.skip(str(exc))
        raise
    assert first.fed >= 1 and cache.is_file()
    second = make_entropy_calibrator(CalibrationFrames(folder, (256, 256)), cache)
    build_serialized_engine(cached_onnx(), "int8", LIGHTNET_SHAPES, calibrator=second)
    assert second.fed == 0  # the cache answered
    out = TensorRTEngine(plan).run(np.zeros((1, 3, 256, 256), np.float32))
    assert out.shape in ((1, 1, 64, 64), (1, 1, 128, 128)) and np.isfinite(out).all()  # 1/4, or 1/2 with a finer level
