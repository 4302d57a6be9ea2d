"""The PyTorch CUDA backend (half precision, CUDA graphs) against ONNX Runtime's float32 on the CPU:
the same networks, the same answers. Runs only where PyTorch sees a CUDA GPU; skipped elsewhere."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deepphoto.engines.build import cuda_for_torch

CUDA = cuda_for_torch()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not CUDA, reason="needs PyTorch with a CUDA GPU (none here)"),
]


def frame(h: int, w: int, seed: int) -> np.ndarray:
    """A (1, 3, h, w) RGB input in [0, 1] with structure (gradients, a bright oval, noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    oval = ((x - 0.5) / 0.22) ** 2 + ((y - 0.45) / 0.35) ** 2 < 1
    planes = [0.2 + 0.5 * x, 0.3 + 0.4 * y, 0.5 - 0.3 * x * y]
    img = np.stack([np.where(oval, 0.85 - 0.1 * c, p) for c, p in enumerate(planes)])
    img = img + rng.normal(0, 0.04, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)[None]


def one_hot(styles: int, index: int) -> np.ndarray:
    v = np.zeros((1, styles), np.float32)
    v[0, index % styles] = 1
    return v


@pytest.fixture(scope="module")
def engines():
    from deepphoto.engines.build import open_engine

    opened = {
        (model, backend, precision): open_engine(model, backend, precision)
        for model in ("lightnet", "stylenet")
        for backend, precision in (("torch", "fp16"), ("torch", "fp32"), ("onnx", "fp32"))
    }
    yield opened


def test_torch_picks_the_gpu_in_half_precision_with_graphs(engines):
    engine = engines[("lightnet", "torch", "fp16")]
    assert (engine.device, engine.precision, engine.use_graphs) == ("cuda", "fp16", True)


@pytest.mark.parametrize("h,w", [(352, 352), (480, 640), (224, 384)])
def test_lightnet_fp16_graph_matches_float_onnx(engines, h, w):
    x = frame(h, w, seed=h + w)
    want = engines[("lightnet", "onnx", "fp32")].run(x)
    for key in (("lightnet", "torch", "fp16"), ("lightnet", "torch", "fp32")):
        got = engines[key].run(x)
        assert got.shape == want.shape and got.shape[:2] == (1, 1) and h % got.shape[2] == w % got.shape[3] == 0
        assert np.isfinite(got).all()
        assert np.abs(got - want).max() < 3e-2, key  # probabilities: fp16 rounding, no more
        assert ((got > 0.5) != (want > 0.5)).mean() < 2e-3, key


@pytest.mark.parametrize("h,w", [(360, 480), (720, 1280)])
def test_stylenet_fp16_graph_matches_float_onnx(engines, h, w):
    styles = engines[("stylenet", "torch", "fp16")].module.styles
    for index in (0, styles - 1):
        x, s = frame(h, w, seed=index), one_hot(styles, index)
        want = engines[("stylenet", "onnx", "fp32")].run(x, s)
        for key in (("stylenet", "torch", "fp16"), ("stylenet", "torch", "fp32")):
            got = engines[key].run(x, s)
            assert got.shape == want.shape == (1, 3, h, w) and np.isfinite(got).all(), key
            mse = float(np.mean((np.clip(got, 0, 1) - np.clip(want, 0, 1)) ** 2))
            psnr = 10 * np.log10(1 / max(mse, 1e-12))
            assert psnr > 38, (key, index, psnr)  # invisible: a style is tens of dB from the photo


def test_graph_replay_gives_each_input_its_own_answer(engines):
    """A replayed graph reads the new input (not the captured one) and the answer returned is a
    copy, not the static buffer the next replay overwrites."""
    engine = engines[("lightnet", "torch", "fp16")]
    a, b = frame(256, 256, 1), frame(256, 256, 2)[:, :, ::-1].copy()
    first = engine.run(a)
    second = engine.run(b)
    again = engine.run(a)
    assert np.array_equal(first, again)
    assert np.abs(first - second).max() > 0.05
    assert not np.shares_memory(first, again)


def test_more_shapes_than_graphs_kept(engines):
    from deepphoto.engines.torch_engine import MAX_GRAPHS

    engine = engines[("lightnet", "torch", "fp16")]
    sizes = [(128 + 32 * i, 160) for i in range(MAX_GRAPHS + 2)]
    firsts = [engine.run(frame(h, w, h)) for h, w in sizes]
    assert len(engine._graphs) <= MAX_GRAPHS
    for (h, w), first in zip(sizes, firsts):  # evicted shapes are captured again, same answers
        assert np.array_equal(engine.run(frame(h, w, h)), first)


def test_two_threads_capture_and_replay_at_once():
    """The pipeline runs the segmenter and the painter on two threads: captures take turns, and
    each thread's answers equal what it gets alone."""
    from deepphoto.engines.build import open_engine

    seg, paint = open_engine("lightnet", "torch", "fp16"), open_engine("stylenet", "torch", "fp16")
    styles = paint.module.styles
    inputs = [frame(320 + 32 * (i % 3), 480, i) for i in range(12)]
    results: dict[str, list[np.ndarray]] = {"seg": [], "paint": []}
    errors: list[BaseException] = []

    def work(name, call):
        try:
            results[name] = [call(x) for x in inputs]
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=("seg", seg.run)),
        threading.Thread(target=work, args=("paint", lambda x: paint.run(x, one_hot(styles, 1)))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for x, got in zip(inputs, results["seg"]):
        assert np.array_equal(seg.run(x), got)
    for x, got in zip(inputs, results["paint"]):
        assert np.array_equal(paint.run(x, one_hot(styles, 1)), got)


def test_auto_runs_on_the_gpu(capsys):
    from deepphoto.engines.build import open_engine

    engine = open_engine("lightnet", "auto", "auto")
    assert engine.device == "cuda" and engine.precision in ("fp16", "int8")
    assert "cuda" in capsys.readouterr().err


def test_stylizer_on_the_gpu_paints_what_the_cpu_paints(engines):
    """On a GPU the stylizer hands 8-bit pictures to the engine (``run_image``): the same painting
    as ONNX Runtime's float32 on the CPU, up to half-precision rounding."""
    from deepphoto.stylizer import Stylizer

    gpu = Stylizer("starry-night", engine=engines[("stylenet", "torch", "fp16")], scale=0.75)
    cpu = Stylizer("starry-night", engine=engines[("stylenet", "onnx", "fp32")], scale=0.75)
    for h, w in [(480, 640), (1080, 1920), (250, 333)]:
        bgr = (frame(h, w, seed=w)[0].transpose(1, 2, 0)[:, :, ::-1] * 255).astype(np.uint8)
        got, want = gpu(bgr), cpu(bgr)
        assert got.shape == want.shape == bgr.shape and got.dtype == np.uint8
        diff = np.abs(got.astype(int) - want)
        # Half precision moves about one pixel in ten by one grey level (0.11 on average, at most 2,
        # on an H200); a wrong channel order, scale or rounding moves most pixels by many levels.
        assert diff.mean() < 0.3 and np.percentile(diff, 99.9) <= 3, (h, w, diff.mean(), diff.max())


def test_run_command_on_the_gpu_gives_the_cpus_frames(tmp_path):
    """``deepphoto run`` with the GPU backend: a playable video, and (written losslessly, one PNG
    a frame) the frames of the CPU's run up to half-precision rounding. H.264 is not the place to
    compare: it turns one grey level of difference into several (2.4 levels on average here)."""
    import av
    import cv2

    from deepphoto.commands.cli import main

    clip = tmp_path / "in.mp4"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(20):
            rgb = (frame(240, 320, i)[0].transpose(1, 2, 0) * 255).astype(np.uint8)
            rgb = np.roll(rgb, 3 * i, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    look = ["--style", "starry-night", "--quiet"]
    assert main(["run", str(clip), str(tmp_path / "gpu.mp4"), "--backend", "torch", "--precision", "fp16", *look]) == 0
    with av.open(str(tmp_path / "gpu.mp4")) as f:
        assert sum(1 for _ in f.decode(video=0)) == 20
    frames = {}
    for backend, precision in (("torch", "fp16"), ("onnx", "fp32")):
        folder = tmp_path / backend
        assert main(["run", str(clip), f"{folder}/", "--backend", backend, "--precision", precision, *look]) == 0
        frames[backend] = np.stack([cv2.imread(str(p)) for p in sorted(folder.glob("*.png"))]).astype(np.float32)
    assert frames["torch"].shape == frames["onnx"].shape == (20, 240, 320, 3)
    diff = np.abs(frames["torch"] - frames["onnx"])
    assert diff.mean() < 0.2 and (diff > 8).mean() < 1e-3, (diff.mean(), diff.max())
