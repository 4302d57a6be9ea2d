"""The library under the commands: validated settings, one pipeline for streams, frames and photos."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from deepphoto import Pipeline, Settings
from deepphoto.errors import DeepPhotoError
from deepphoto.models.shipped import style_names
from deepphoto.segmenters import SegmenterOptions, open_segmenter
from deepphoto.settings import SEGMENTERS
from tests.media import make_clip, probe

FAST = {"backend": "onnx", "precision": "fp32"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"threshold": math.nan}, "threshold nan: must be a finite number"),
        ({"threshold": 1.0}, "threshold 1.0: must be above 0 and below 1"),
        ({"smooth": math.inf}, "smooth inf: must be a finite number"),
        ({"smooth": 0.99}, "smooth 0.99: must be from 0 to 0.95"),
        ({"feather": 100000}, "feather 100000: must be from 0 to 64"),
        ({"feather": -1}, "feather -1"),
        ({"style_scale": 0.0}, "style scale 0.0"),
        ({"seg_every": 0}, "seg-every 0"),
        ({"region": "sky"}, "unknown region 'sky'"),
        ({"effect": "sepia"}, "unknown effect 'sepia'"),
        ({"segmenter": "sam"}, "unknown segmenter 'sam': choose from lightnet, mediapipe"),
        ({"backend": "tpu"}, "unknown backend 'tpu'"),
        ({"seg_input": (250, 250)}, "multiples of 32"),
        ({"style": "wave", "effect": "blur"}, "not both"),
        ({"threads": 0}, "threads 0"),
    ],
)
def test_settings_refuse_bad_values_in_one_line(values, message):
    with pytest.raises(DeepPhotoError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        Settings(**values)
    assert "\n" not in str(err.value)


def test_settings_create_names_unknown_settings_and_parses_sizes():
    with pytest.raises(DeepPhotoError, match="unknown setting 'colour'"):
        Settings.create(colour="red")
    assert Settings.create(seg_input="256x192").seg_input == (256, 192)
    s = Settings(style="wave")
    assert s.changed(region="person").region == "person" and s.region == "background"
    with pytest.raises(DeepPhotoError):
        s.changed(threshold=2.0)


def _person_photo() -> np.ndarray:
    img = np.full((240, 320, 3), (90, 140, 60), np.uint8)  # a green wall
    cv2.ellipse(img, (160, 100), (40, 50), 0, 0, 360, (140, 170, 220), -1)  # a face
    cv2.rectangle(img, (100, 150), (220, 240), (60, 60, 160), -1)  # shoulders
    return img


def test_photo_leaves_no_temporal_state_and_whole_region_changes_everything():
    img = _person_photo()
    with Pipeline(Settings(effect="grey", region="whole", **FAST)) as pipe:
        first = pipe.photo(img)
        again = pipe.photo(img)
        assert np.array_equal(first, again)
        assert np.allclose(first[..., 0], first[..., 2], atol=1)  # grey everywhere


def test_update_switches_look_and_region_live_and_keeps_networks():
    img = _person_photo()
    with Pipeline(Settings(effect="grey", region="whole", **FAST)) as pipe:
        segmenter = pipe.segmenter
        grey = pipe.photo(img)
        pipe.update(effect="blur")
        blurred = pipe.photo(img)
        assert not np.array_equal(grey, blurred)
        assert pipe.describe() == "blur on the whole"
        pipe.update(region="person", threshold=0.4)
        assert pipe.processor.region == "person" and pipe.processor.settings.threshold == 0.4
        assert pipe.segmenter is segmenter  # mask controls do not reopen networks
        with pytest.raises(DeepPhotoError, match="smooth"):
            pipe.update(smooth=-1)
        assert pipe.settings.region == "person"  # a refused change changes nothing


@pytest.mark.skipif(not style_names(), reason="no style network shipped")
def test_style_photo_and_stream_through_one_pipeline(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=12, size=(160, 120))
    with Pipeline(Settings(style=style_names()[0], **FAST)) as pipe:
        summary = pipe.run(str(clip), str(tmp_path / "out.mp4"), progress=False)
        assert summary.frames_out == 12 and summary.segmented == 12
        photo = pipe.photo(_person_photo())
        assert photo.shape == (240, 320, 3)
    assert probe(tmp_path / "out.mp4")["frames"] == 12


def test_a_refused_output_leaves_the_source_untouched(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=4, size=(64, 48))
    before = clip.read_bytes()
    with Pipeline(Settings(effect="grey", **FAST)) as pipe:
        with pytest.raises(DeepPhotoError, match="is the input"):
            pipe.run(str(clip), str(clip), overwrite=True, progress=False)
    assert clip.read_bytes() == before


def test_every_registered_segmenter_opens_by_name():
    assert set(SEGMENTERS) == {"lightnet", "mediapipe"}
    img = _person_photo()
    for name in SEGMENTERS:
        if name == "mediapipe":
            pytest.importorskip("ai_edge_litert")
        seg = open_segmenter(name, SegmenterOptions(backend="onnx", precision="fp32"))
        prob = seg(img)
        assert prob.shape == img.shape[:2] and prob.dtype == np.float32
        assert 0.0 <= prob.min() and prob.max() <= 1.0
        assert name in seg.describe().lower() or seg.name == name


def test_run_accepts_the_mediapipe_segmenter(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from deepphoto.commands.cli import main

    clip = make_clip(tmp_path / "in.mp4", frames=6, size=(96, 64))
    out = tmp_path / "out.mp4"
    assert main(["run", str(clip), str(out), "--segmenter", "mediapipe", "--effect", "blur", "--quiet"]) == 0
    assert out.stat().st_size > 0


def test_closing_releases_a_background_video_and_the_painter_thread(tmp_path):
    bg = make_clip(tmp_path / "bg.mp4", frames=3, size=(64, 48))
    pipe = Pipeline(Settings(effect="replace", background=bg, **FAST))
    effect = pipe.processor.look.effect
    closed = []
    original = effect.source.close
    effect.source.close = lambda: (closed.append(True), original())
    out = pipe(_person_photo())
    assert out.shape == (240, 320, 3)
    pipe.close()
    assert closed == [True]
    with pytest.raises(RuntimeError):  # the painter pool is shut down
        pipe.processor._painter.submit(print)


def test_networks_that_run_at_once_share_the_cores(monkeypatch):
    from deepphoto.settings import network_threads

    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(6)), raising=False)
    style = style_names()[0] if style_names() else "starry-night"
    assert network_threads(Settings(style=style, region="background")) == 3  # painting while segmenting
    assert network_threads(Settings(style=style, region="person")) == 3
    assert network_threads(Settings(style=style, region="whole")) is None  # the painter alone: all cores
    assert network_threads(Settings(effect="blur")) is None  # the segmenter alone
    assert network_threads(Settings(style=style, threads=5)) == 5  # the user's choice wins
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0}, raising=False)
    assert network_threads(Settings(style=style)) == 1
    assert network_threads(Settings(style=style), cores=4) == 2  # a batch worker's reserved CPUs


@pytest.mark.skipif(not style_names(), reason="no style network shipped")
def test_a_pipeline_opens_its_networks_with_those_threads(monkeypatch):
    import deepphoto.pipeline as pipeline

    monkeypatch.setattr(pipeline, "network_threads", lambda _s: 1)
    with Pipeline(Settings(style=style_names()[0], **FAST)) as pipe:
        assert pipe.threads == 1
        assert pipe.stylizer is not None and pipe.stylizer.engine.threads == 1
        assert pipe.segmenter.engine.threads == 1
