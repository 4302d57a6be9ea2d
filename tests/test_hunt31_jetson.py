"""Hunt 31 (jetson): what a Jetson or desktop-GPU owner following docs/jetson.md would hit, checked
against fakes of the TensorRT, cuda-python and PyCUDA APIs (no GPU here)."""

import sys
import types

import numpy as np
import pytest

from deepphoto.engines import cuda_memory
from deepphoto.engines.tensorrt_engine import TensorRTEngine
from deepphoto.errors import DeepPhotoError
from tests.test_tensorrt import bindings_engine, host_cuda, install_runtime, named_engine  # noqa: F401


class DataType:
    """A TensorRT ``DataType`` member as pybind11 gives it: ``.name`` is 'FLOAT', 'HALF', ..."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"DataType.{self.name}"


def tensorrt_8_5_nptype(dtype):
    """TensorRT 8.2/8.5's ``trt.nptype`` under NumPy 1.24-1.26: its table names ``np.bool``."""
    raise AttributeError("module 'numpy' has no attribute 'bool'.")


@pytest.mark.parametrize("api", [named_engine, bindings_engine], ids=["tensorrt-8.5", "tensorrt-8.2"])
def test_engine_opens_where_trt_nptype_is_broken(monkeypatch, host_cuda, api):  # noqa: F811
    engine = api(host_cuda)
    install_runtime(monkeypatch, engine)
    trt = sys.modules["tensorrt"]
    trt.__version__, trt.nptype = "8.5.2", tensorrt_8_5_nptype
    types_by_name = {np.float32: DataType("FLOAT"), np.float16: DataType("HALF")}
    for method in ("get_tensor_dtype", "get_binding_dtype"):
        if hasattr(engine, method):
            original = getattr(type(engine), method)
            setattr(type(engine), method, lambda self, key, f=original: types_by_name[f(self, key)])
    trt_engine = TensorRTEngine(b"PLAN")
    assert [t.dtype for t in trt_engine.inputs + trt_engine.outputs] == ["float32", "float16"]
    x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    out = trt_engine.run(x)
    np.testing.assert_allclose(out, x.mean(axis=1, keepdims=True)[:, :, ::4, ::4], atol=1e-3)


def test_a_tensor_type_numpy_lacks_is_a_one_line_error(monkeypatch, host_cuda):  # noqa: F811
    engine = named_engine(host_cuda)
    install_runtime(monkeypatch, engine)
    trt = sys.modules["tensorrt"]

    def nptype(dtype):
        raise TypeError(f"Could not resolve TensorRT datatype to an equivalent numpy datatype. {dtype}")

    trt.nptype = nptype
    type(engine).get_tensor_dtype = lambda self, name: DataType("BF16")
    with pytest.raises(DeepPhotoError, match="BF16"):
        TensorRTEngine(b"PLAN")


# ------------------------------------------------------------- which CUDA binding: cuda-python or PyCUDA


class CudaError:
    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, CudaError) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


def fake_cudart(driver_cuda=12060, runtime_ok=False):
    """cuda-python's runtime module; ``runtime_ok=False``: its CUDA is newer than the driver's."""
    rt = types.SimpleNamespace()
    success, insufficient = CudaError("cudaSuccess"), CudaError("cudaErrorInsufficientDriver")
    rt.cudaError_t = types.SimpleNamespace(cudaSuccess=success)
    rt.cudaGetDeviceCount = lambda: (success, 1) if runtime_ok else (insufficient, 0)
    rt.cudaDriverGetVersion = lambda: (success, driver_cuda)
    return rt


def fake_pycuda():
    drv = types.SimpleNamespace(Error=RuntimeError, init=lambda: None)
    drv.Device = types.SimpleNamespace(count=lambda: 1)
    return drv


@pytest.fixture
def fresh_backend(monkeypatch):
    cuda_memory.backend.cache_clear()
    yield monkeypatch
    cuda_memory.backend.cache_clear()


def test_pycuda_is_used_where_cuda_python_cannot_reach_the_gpu(fresh_backend):
    fresh_backend.setattr(cuda_memory, "_import_cudart", lambda: fake_cudart())
    fresh_backend.setattr(cuda_memory, "_import_pycuda", fake_pycuda)
    assert cuda_memory.cuda_backend_name() == "pycuda"
    assert cuda_memory.device_count() == 1


def test_working_cuda_python_is_still_preferred(fresh_backend):
    fresh_backend.setattr(cuda_memory, "_import_cudart", lambda: fake_cudart(runtime_ok=True))
    fresh_backend.setattr(cuda_memory, "_import_pycuda", fake_pycuda)
    assert cuda_memory.cuda_backend_name() == "cuda-python"


def test_cuda_python_newer_than_the_driver_says_which_to_install(fresh_backend):
    fresh_backend.setattr(cuda_memory, "_import_cudart", lambda: fake_cudart(driver_cuda=12060))
    fresh_backend.setattr(cuda_memory, "_import_pycuda", lambda: None)
    with pytest.raises(DeepPhotoError, match=r"cudaErrorInsufficientDriver .*driver's 12\.6.*cuda-python==12\.6\.\*"):
        cuda_memory.device_count()


def test_trt_extra_keeps_cuda_python_below_13():
    import re
    from pathlib import Path

    from packaging.requirements import Requirement  # pytest's own dependency

    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    (line,) = re.findall(r'^trt = \["(cuda-python[^"]*)"\]', pyproject, re.M)
    spec = Requirement(line).specifier
    assert "12.9.0" in spec and "13.0.3" not in spec


# ------------------------------------------------------------------------------- OpenCV 4 (JetPack's)


def test_deepphoto_starts_with_opencv_4():
    """OpenCV 4 (JetPack's, the one with the GStreamer csi:// needs; Ubuntu's; pip's last wheels for
    NumPy 1) has no cv2.utils.logging: importing DeepPhoto raised AttributeError, so nothing ran."""
    import os
    import subprocess
    from pathlib import Path

    code = """
import os, sys, cv2, cv2.utils
os.environ.pop("OPENCV_LOG_LEVEL", None)
sys.modules.pop("cv2.utils.logging", None)
if hasattr(cv2.utils, "logging"):
    delattr(cv2.utils, "logging")
levels = []
cv2.setLogLevel = levels.append  # OpenCV 4's
import deepphoto.frames
print(levels)
"""
    root = Path(__file__).parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0]"  # LOG_LEVEL_SILENT


# ------------------------------------------------------------------------------- Python 3.10 (JetPack 6)


def test_python_3_10_can_install_pyav():
    """PyAV 18 needs Python 3.11: with 'av>=18' DeepPhoto could not be installed on Python 3.10,
    which pyproject allows and JetPack 6 has (its TensorRT module is built for it)."""
    import re
    from pathlib import Path

    from packaging.requirements import Requirement

    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.10"' in pyproject
    wanted = [Requirement(r) for r in re.findall(r'^\s*"(av[^"]*)"', pyproject, re.M)]
    for python, newest in (("3.10", "17.1.0"), ("3.11", "18.1.0"), ("3.12", "18.1.0")):
        env = {"python_version": python, "python_full_version": f"{python}.0"}
        applying = [r for r in wanted if r.marker is None or r.marker.evaluate(env)]
        assert applying and all(newest in r.specifier for r in applying), python


def test_colour_conversion_flags_are_swscales_on_any_pyav():
    """EXACT as a plain int: PyAV 17 has no Interpolation.ACCURATE_RND / FULL_CHR_H_INT names."""
    from deepphoto.stream.video_colour import EXACT

    assert type(EXACT) is int and EXACT == 0x2 | 0x40000 | 0x2000  # SWS_BILINEAR | ACCURATE_RND | FULL_CHR_H_INT
    from av.video.reformatter import Interpolation

    if hasattr(Interpolation, "ACCURATE_RND"):  # PyAV 18: the same flags by name
        assert EXACT == Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


# --------------------------------------------------------------------------------- the CSI camera


class ClosedCapture:
    """cv2.VideoCapture of a GStreamer pipeline that did not start (nvarguscamerasrc refused)."""

    opened = []

    def __init__(self, target, api):
        ClosedCapture.opened.append(target)

    def isOpened(self):
        return False


def test_a_csi_camera_that_does_not_start_says_what_to_check(monkeypatch):
    from deepphoto.stream import sources

    monkeypatch.setattr(sources, "has_gstreamer", lambda: True)
    monkeypatch.setattr(sources.cv2, "VideoCapture", ClosedCapture)
    with pytest.raises(DeepPhotoError) as caught:
        sources.open_source("csi://1", size=(1920, 1080), fps=60)
    text = str(caught.value)
    assert text.startswith("csi://1: ") and "\n" not in text
    assert "1920x1080 at 60 fps" in text and "nvargus-daemon" in text
    assert "sensor-id=1" in ClosedCapture.opened[-1]


@pytest.mark.parametrize("fps,rate", [(30, "30/1"), (29.97, "2997/100"), (30000 / 1001, "30000/1001"), (0.5, "1/2")])
def test_csi_pipeline_asks_for_the_rate_given(fps, rate):
    from deepphoto.stream.sources import csi_pipeline

    pipeline = csi_pipeline(0, (1280, 720), fps)
    assert f"framerate={rate}, format=NV12" in pipeline
    # colours and order as OpenCV wants them: NVMM NV12 -> BGRx in system memory -> BGR, newest frame only
    assert "nvvidconv ! video/x-raw, format=BGRx ! videoconvert ! video/x-raw, format=BGR ! appsink" in pipeline
    assert pipeline.endswith("appsink drop=true max-buffers=1")


def test_no_driver_at_all_is_not_blamed_on_cuda_python(fresh_backend):
    fresh_backend.setattr(cuda_memory, "_import_cudart", lambda: fake_cudart(driver_cuda=0))
    fresh_backend.setattr(cuda_memory, "_import_pycuda", lambda: None)
    with pytest.raises(DeepPhotoError, match=r"cudaErrorInsufficientDriver \(no NVIDIA driver is loaded\)$"):
        cuda_memory.device_count()
