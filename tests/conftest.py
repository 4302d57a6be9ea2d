from __future__ import annotations

import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEEPPHOTO_SHARED_DATA", ROOT.parent / "shared" / "data"))

# User styles (deepphoto add-style) live in the user's data folder; the tests see an empty one of
# their own, so styles a developer added never change what a test sees (and none is ever written there).
if "DEEPPHOTO_DATA_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["DEEPPHOTO_DATA_DIR"] = tempfile.mkdtemp(prefix="deepphoto-test-data-")
    atexit.register(shutil.rmtree, os.environ["DEEPPHOTO_DATA_DIR"], True)

# Started in the background (a script's '&' leaves SIGINT ignored) or under nohup (SIGHUP), the
# commands the tests start inherited the ignoring and, as deepphoto respects it (nohup), went on
# through the Ctrl-C or hang-up a test sent them. A handler of Python's own that does nothing is
# not inherited across exec: the tests still ignore the signal, the commands they start do not.
for _sig in (signal.SIGINT, signal.SIGHUP):
    if signal.getsignal(_sig) == signal.SIG_IGN:
        signal.signal(_sig, lambda *_: None)

needs_shared = pytest.mark.skipif(
    not (SHARED / "seg" / "portraits").is_dir(),
    reason=f"needs the shared data set at {SHARED} (absent on this machine)",
)


def stand_in_photo(h: int = 240, w: int = 180, seed: int = 0) -> np.ndarray:
    """A stand-in portrait: a light oval 'face' on a darker gradient, with some texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float32)
    img[...] = (40 + 80 * x / w)[..., None] * np.array([1.0, 0.8, 0.6])
    face = ((x - w / 2) / (w / 4)) ** 2 + ((y - h / 2) / (h / 3)) ** 2 < 1
    img[face] = (200, 190, 220)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def portrait(size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A photo of a person (a shared portrait when present, else a drawn figure), BGR, size (w, h)."""
    folder = SHARED / "seg" / "portraits" / "images"
    files = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if files:
        return cv2.resize(cv2.imread(str(files[0])), size, interpolation=cv2.INTER_AREA)
    w, h = size
    img = np.random.default_rng(0).integers(60, 200, (h, w, 3), dtype=np.uint8)
    cv2.circle(img, (w // 2, h // 3), w // 8, (140, 170, 220), -1)
    cv2.ellipse(img, (w // 2, 2 * h // 3), (w // 5, h // 3), 0, 0, 360, (60, 40, 120), -1)
    return img


def encoded(image: np.ndarray, ext: str = ".png") -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def decoded(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A user data folder of the test's own (user styles), and an engine cache too (the extended
    ONNX files a user style makes)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("DEEPPHOTO_DATA_DIR", str(folder))
    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path / "cache"))
    return folder


@pytest.fixture
def one_thread():
    """PyTorch on one thread for the test (tiny tensors: one is fastest, and the machine may be shared)."""
    torch = pytest.importorskip("torch", reason="needs PyTorch (the train extra)")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def grey_pipe():
    """One Pipeline for the module: the grey effect on the background, on ONNX Runtime at fp32
    (the library's tests: what they check does not hang on the look)."""
    from deepphoto import Pipeline, Settings

    with Pipeline(Settings(effect="grey", backend="onnx", precision="fp32")) as pipe:
        yield pipe


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (starting it takes seconds): 2 CPUs, workers take 0.5 each;
    the workers' lines are not shown, as in a batch."""
    import logging

    import ray

    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            logging_level=logging.ERROR,
            log_to_driver=False,
            object_store_memory=100 * 1024 * 1024,
        )
    yield
    ray.shutdown()
