"""What a developer scripting the library met (hunt 31): ``Pipeline.run`` took a ``pathlib.Path``
source for a ``Source`` object (AttributeError: 'PosixPath' object has no attribute 'close', and the
output went unchecked against it) and a ``Path`` output failed on ``rstrip``; a malformed ``size``
was 'no frame could be decoded (OpenCV ... resize)', and a negative ``max_frames`` wrote one frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepphoto import Pipeline, Settings
from deepphoto.errors import DeepPhotoError
from deepphoto.models.shipped import style_names
from tests.media import make_clip

FAST = {"backend": "onnx", "precision": "fp32"}
needs_style = pytest.mark.skipif(not style_names(), reason="no style network shipped")


def test_run_takes_paths_as_pathlib_paths(grey_pipe, tmp_path):
    clip = make_clip(tmp_path / "talk.mp4", frames=4)
    summary = grey_pipe.run(clip, tmp_path / "out.mp4", progress=False)
    assert summary.frames_out == 4 and (tmp_path / "out.mp4").stat().st_size > 0
    with pytest.raises(DeepPhotoError, match="is the input"):  # the source is still guarded
        grey_pipe.run(clip, Path(str(clip)), progress=False, overwrite=True)
    for source, output, message in [
        (0, tmp_path / "o.mp4", r"source 0: must be a path or a URI .* \(a webcam: 'v4l2://0'\)"),
        (clip, None, "output None: must be a path or a URI"),
    ]:
        with pytest.raises(TypeError, match=message) as err:
            grey_pipe.run(source, output, progress=False)  # type: ignore[arg-type]
        assert isinstance(err.value, DeepPhotoError)
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": (0, 10)}, "size width 0: must be from 1 to 8192"),
        ({"size": (320,)}, r"size \(320,\): expected \(width, height\)"),
        ({"size": (33.5, 20)}, "size width 33.5: must be a whole number"),
        ({"fps": -1}, "fps -1: must be above 0"),
        ({"fps": "abc"}, "fps 'abc': must be a number"),
        ({"max_frames": -3}, "max_frames -3: must be from 0"),
    ],
)
def test_run_refuses_malformed_options_in_one_line(grey_pipe, tmp_path, options, message):
    clip = make_clip(tmp_path / "talk.mp4", frames=2)
    with pytest.raises(DeepPhotoError, match=message) as err:
        grey_pipe.run(str(clip), str(tmp_path / "out.mp4"), progress=False, **options)
    assert "\n" not in str(err.value) and not (tmp_path / "out.mp4").exists()


def test_run_takes_a_size_as_text(grey_pipe, tmp_path):
    clip = make_clip(tmp_path / "talk.mp4", frames=2)
    summary = grey_pipe.run(str(clip), str(tmp_path / "out.png"), progress=False, size="32x24", max_frames=1)
    assert summary.frames_out == 1


def test_a_look_given_alone_replaces_the_look():
    s = Settings(effect="blur")
    assert (s.changed(style="wave").style, s.changed(style="wave").effect) == ("wave", None)
    assert Settings(style="wave").changed(effect="grey").style is None
    replaced = Settings(effect="replace", background=Path("bg.png"))
    assert replaced.changed(effect="grey").background is None  # a background goes with replace only
    assert replaced.changed(region="person").background == Path("bg.png")
    with pytest.raises(DeepPhotoError, match="not both"):  # both named: still refused
        s.changed(style="wave", effect="grey")


@needs_style
def test_update_to_a_style_from_an_effect():
    img = np.full((48, 64, 3), (90, 140, 60), np.uint8)
    style = style_names()[0]
    with Pipeline(Settings(effect="grey", region="whole", **FAST)) as pipe:
        grey = pipe(img)
        assert pipe.update(style=style).style == style
        assert not np.array_equal(pipe(img), grey)


@needs_style
def test_a_frame_under_way_when_another_thread_closes_is_refused_in_one_line(monkeypatch):
    import threading

    import deepphoto.pipeline as pipeline_module

    converting, closed = threading.Event(), threading.Event()
    checked = pipeline_module.checked_frame

    def slow_check(frame: np.ndarray, what: str = "frame") -> np.ndarray:  # a big frame being converted
        converting.set()
        closed.wait(10)
        return checked(frame, what)

    pipe = Pipeline(Settings(style=style_names()[0], **FAST))
    monkeypatch.setattr(pipeline_module, "checked_frame", slow_check)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            pipe(np.zeros((24, 32, 3), np.uint8))
        except BaseException as exc:  # noqa: BLE001 - what the frame's caller gets
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    assert converting.wait(10)
    pipe.close()
    closed.set()
    worker.join(10)
    assert len(errors) == 1 and isinstance(errors[0], DeepPhotoError), errors
    assert "closed" in str(errors[0])


def test_a_pil_image_or_an_array_background_is_told_what_to_give(grey_pipe):
    from PIL import Image

    with pytest.raises(TypeError, match=r"a PIL image: give cv2.cvtColor\(np.asarray"):
        grey_pipe(Image.new("RGB", (8, 6)))
    for background in (123, np.zeros((4, 4, 3), np.uint8)):
        with pytest.raises(DeepPhotoError, match="background of type .*: must be the path of an image or video"):
            Settings(effect="replace", background=background)  # type: ignore[arg-type]


def test_an_observer_that_raises_is_named_with_its_own_error(grey_pipe, tmp_path):
    clip = make_clip(tmp_path / "talk.mp4", frames=6)
    seen: list[int] = []

    def observe(image: np.ndarray, frame: object) -> None:
        seen.append(image.shape[0])
        if len(seen) == 3:
            raise ZeroDivisionError("a bug in the caller's code")

    with pytest.raises(DeepPhotoError, match="not kept: observe raised ZeroDivisionError: a bug in") as err:
        grey_pipe.run(clip, tmp_path / "out.mp4", progress=False, observe=observe)
    assert "cannot write" not in str(err.value) and isinstance(err.value.__cause__, ZeroDivisionError)
    assert not (tmp_path / "out.mp4").exists()


def test_run_refuses_an_empty_name(grey_pipe, tmp_path, monkeypatch):
    clip = make_clip(tmp_path / "talk.mp4", frames=2)
    monkeypatch.chdir(tmp_path)
    for source, output, what in [(clip, "", "output"), ("", "out.mp4", "source"), (clip, " ", "output")]:
        with pytest.raises(DeepPhotoError, match=f"{what}: empty name"):
            grey_pipe.run(source, output, progress=False, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.mp4"]  # no frames written into the folder


def test_a_float_frame_resized_with_overshoot_is_clipped_not_refused(grey_pipe):
    import cv2

    rng = np.random.default_rng(3)
    blocks = (rng.random((12, 16, 3)) > 0.5).astype(np.float32)  # hard edges: cubic rings past 0 and 1
    frame = cv2.resize(blocks, (64, 48), interpolation=cv2.INTER_CUBIC)
    assert frame.min() < -0.05 and frame.max() > 1.05
    clipped = (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(grey_pipe.photo(frame), grey_pipe.photo(clipped))
    with pytest.raises(DeepPhotoError, match="divide by 255"):
        grey_pipe(clipped.astype(np.float32))
    with pytest.raises(DeepPhotoError, match=r"\(frame \+ 1\) / 2 for one from -1 to 1"):
        grey_pipe(frame * 2 - 1)


@needs_style
def test_each_run_is_a_stream_of_its_own(tmp_path):
    clip = make_clip(tmp_path / "talk.mp4", frames=6, size=(64, 48))

    def frames_of_run(pipe: Pipeline) -> tuple[list[np.ndarray], int, int]:
        seen: list[np.ndarray] = []
        summary = pipe.run(
            clip, tmp_path / "out.mp4", progress=False, overwrite=True, observe=lambda im, _: seen.append(im)
        )
        return seen, summary.segmented, len(pipe.processor.times.samples["composite"])

    style = Settings(style=style_names()[0], **FAST)
    with Pipeline(style) as pipe:
        frames_of_run(pipe)
        second = frames_of_run(pipe)
    with Pipeline(style) as pipe:
        fresh = frames_of_run(pipe)
    assert second[1:] == fresh[1:] == (6, 6)  # the summary counts this run's frames only
    assert all(np.array_equal(a, b) for a, b in zip(second[0], fresh[0], strict=True))


def test_a_big_endian_16_bit_frame_is_read(grey_pipe):
    rng = np.random.default_rng(5)
    native = rng.integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    assert np.array_equal(grey_pipe.photo(native.astype(">u2")), grey_pipe.photo(native))


def test_the_errors_the_readme_names_import_from_the_package():
    import deepphoto
    from deepphoto import DeepPhotoError as Exported
    from deepphoto import FrameError

    assert Exported is DeepPhotoError and issubclass(FrameError, ValueError)
    assert {"DeepPhotoError", "FrameError", "Pipeline", "Settings"} <= set(deepphoto.__all__)
