"""What a developer embedding the library met: ``Pipeline.mask`` took only BGR uint8 (grey, float64:
OpenCV errors) and a NaN frame left every later mask NaN; ``None`` from a failed ``cv2.imread``, a
0-255 float frame (painted as white) and NaN passed without a clear word; a whole-frame look handed
back an array it kept (drawing on the output changed the next frame); a refused ``update`` left a
new segmenter or exposure behind; a closed pipeline failed deep in a thread pool, or ``run`` copied
the input unpainted; ``Settings`` let a malformed ``seg_input``, a non-text style and an unknown
name to ``changed`` through as Python's own errors."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

import deepphoto
from deepphoto import Pipeline, Settings
from deepphoto.errors import DeepPhotoError, FrameError, FrameTypeError
from deepphoto.models.shipped import style_names

FAST = {"backend": "onnx", "precision": "fp32"}
needs_style = pytest.mark.skipif(not style_names(), reason="no style network shipped")


def _person(w: int = 160, h: int = 120, x: int = 0) -> np.ndarray:
    """A person (a head and a body, ``x`` pixels right of the middle) on a green background."""
    img = np.full((h, w, 3), (90, 140, 60), np.uint8)
    cv2.ellipse(img, (w // 2 + x, h * 5 // 12), (w // 8, h // 5), 0, 0, 360, (140, 170, 220), -1)
    cv2.rectangle(img, (w * 5 // 16 + x, h * 5 // 8), (w * 11 // 16 + x, h), (60, 60, 160), -1)
    return img


def test_mask_takes_every_frame_form_the_stream_takes(grey_pipe):
    img = _person()
    want = grey_pipe.mask(img, photo=True)
    for form in (img.astype(np.float64) / 255, np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])):
        got = grey_pipe.mask(form, photo=True)
        assert got.shape == img.shape[:2] and got.dtype == np.float32
        assert np.abs(got - want).mean() < 0.02
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    for form in (grey, grey[..., None]):
        assert grey_pipe.mask(form).shape == img.shape[:2]


def test_a_nan_frame_is_refused_and_does_not_poison_later_masks(grey_pipe):
    img = _person()
    bad = img.astype(np.float32) / 255
    bad[10:20, 10:20] = np.nan
    for use in (grey_pipe, grey_pipe.photo, grey_pipe.mask):
        with pytest.raises(FrameError, match="NaN"):
            use(bad)
    assert np.isfinite(grey_pipe.mask(img)).all()


@pytest.mark.parametrize(
    ("frame", "kind", "message"),
    [
        (None, TypeError, "not None .cv2.imread"),
        ([[1, 2, 3]], TypeError, "numpy array"),
        (np.zeros((4, 4, 3), np.int64), TypeError, "dtype int64: expected uint8, uint16 or float"),
        (np.zeros((4, 4, 3), bool), TypeError, "dtype bool"),
        (np.zeros((0, 5, 3), np.uint8), ValueError, "empty frame"),
        (np.zeros((4, 4, 2), np.uint8), ValueError, "frame shape"),
        (np.full((4, 4, 3), 200.0, np.float32), ValueError, "read as 0 to 1"),
    ],
)
def test_what_cannot_be_a_frame_is_one_clear_error(grey_pipe, frame, kind, message):
    for use in (grey_pipe, grey_pipe.photo, grey_pipe.mask):
        with pytest.raises(kind, match=message) as err:
            use(frame)
        assert isinstance(err.value, DeepPhotoError) and "\n" not in str(err.value)
    assert issubclass(FrameTypeError, TypeError) and issubclass(FrameTypeError, FrameError)


def test_odd_frames_work_and_are_never_changed_in_place(grey_pipe):
    img = _person(64, 48)
    locked = img.copy()
    locked.flags.writeable = False
    forms = [img[:, ::-1], img[::2, 1::3], np.asfortranarray(img), locked, img[:1, :1], img[:3, :5]]
    forms += [(img / 255).astype(np.float32), img.astype(np.uint16) * 257]
    for form in forms:
        before = form.copy()
        for use in (grey_pipe, grey_pipe.photo):
            out = use(form)
            assert out.shape == form.shape[:2] + (3,) and out.dtype == np.uint8
            assert not np.shares_memory(out, form)
        assert np.array_equal(form, before)


@pytest.mark.parametrize("look", [{"effect": "replace"}, pytest.param({"style": "wave"}, marks=needs_style)])
def test_drawing_on_a_whole_frame_output_does_not_change_the_next(tmp_path, look):
    img = _person(64, 48)
    if look.get("effect") == "replace":
        cv2.imwrite(str(tmp_path / "bg.png"), np.full((48, 64, 3), (20, 200, 90), np.uint8))
        look = {**look, "background": tmp_path / "bg.png"}
    seconds = []
    for draw in (False, True):
        with Pipeline(Settings(**look, region="whole", **FAST)) as pipe:
            first = pipe(img)
            if draw:
                first[:] = 0  # as cv2.putText on the shown frame would, in place
            seconds.append(pipe(img))
    assert seconds[1].any() and np.array_equal(seconds[0], seconds[1])


@needs_style
def test_a_refused_update_changes_nothing():
    style = style_names()[0]
    with Pipeline(Settings(style=style, **FAST)) as pipe:
        pipe(_person())
        segmenter, stylizer, settings = pipe.segmenter, pipe.stylizer, pipe.settings
        with pytest.raises(DeepPhotoError, match="unknown style 'no-such-style'"):
            pipe.update(keep_exposure=0.8, threads=1, style="no-such-style")
        assert pipe.settings is settings
        assert pipe.segmenter is segmenter and pipe.processor.segmenter is segmenter
        assert pipe.stylizer is stylizer and stylizer.exposure == 0.0
        with pytest.raises(DeepPhotoError, match="unknown setting 'stlye'"):
            pipe.update(stlye=style)
        assert pipe(_person()).shape == (120, 160, 3)


def test_a_closed_pipeline_says_so(tmp_path):
    pipe = Pipeline(Settings(effect="grey", **FAST))
    pipe.close()
    pipe.close()  # a second close is nothing
    img = _person(32, 24)
    for use in (lambda: pipe(img), lambda: pipe.photo(img), lambda: pipe.mask(img), pipe.reset):
        with pytest.raises(DeepPhotoError, match="closed"):
            use()
    with pytest.raises(DeepPhotoError, match="closed"):
        pipe.update(region="person")
    with pytest.raises(DeepPhotoError, match="closed"):
        pipe.run("any.mp4", str(tmp_path / "out.mp4"), progress=False)
    with pytest.raises(DeepPhotoError, match="closed"), pipe:
        pass
    assert not (tmp_path / "out.mp4").exists()


def test_photo_refuses_companions_of_another_size(grey_pipe):
    img = _person(64, 48)
    with pytest.raises(FrameError, match="painted is 10x10, the photo 64x48"):
        grey_pipe.photo(img, painted=img[:10, :10])
    with pytest.raises(FrameError, match="alpha is 64x10"):
        grey_pipe.photo(img, alpha=np.zeros((10, 64), np.uint8))
    out = grey_pipe.photo(img, alpha=np.ones((48, 64), np.float32))  # float alpha: 0 to 1
    assert out.shape == (48, 64, 3)


def test_settings_refuse_malformed_values_in_one_line():
    for values, message in [
        ({"seg_input": (352,)}, "expected .width, height."),
        ({"seg_input": None}, "expected .width, height."),
        ({"style": 3}, "style 3: must be a style's name"),
    ]:
        with pytest.raises(DeepPhotoError, match=message):
            Settings(**values)
    s = Settings(seg_input=[256.0, 192])
    assert s.seg_input == (256, 192) and isinstance(s.seg_input[0], int)
    assert Settings(seg_input="256x192").seg_input == (256, 192)
    assert hash(s) == hash(Settings(seg_input=(256, 192)))
    with pytest.raises(DeepPhotoError, match="unknown setting 'stlye'"):
        Settings().changed(stlye="wave")
    with pytest.raises(TypeError, match="takes a Settings"):
        Pipeline({"style": "wave"})  # type: ignore[arg-type]


def test_threads_sharing_a_pipeline_get_each_photo_whole(grey_pipe):
    frames = [_person(64 + 32 * i, 48 + 24 * i) for i in range(3)]
    want = [grey_pipe.photo(f) for f in frames]
    errors: list[str] = []

    def work(k: int) -> None:
        for j in range(4):
            i = (k + j) % 3
            if not np.array_equal(grey_pipe.photo(frames[i]), want[i]):
                errors.append(f"thread {k}: photo {i} differs")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_the_package_is_typed_and_imports_no_torch():
    import subprocess
    import sys

    assert (Path(deepphoto.__file__).parent / "py.typed").is_file()
    code = (
        "import sys, numpy as np; from deepphoto import Pipeline, Settings\n"
        "with Pipeline(Settings(effect='blur', backend='onnx', precision='fp32')) as p:\n"
        "    p(np.zeros((24, 32, 3), np.uint8))\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
