"""The file-to-file job on a small synthetic clip: every frame written, timing kept, playable."""

from fractions import Fraction

import av
import numpy as np
import pytest

from deepphoto.errors import DeepPhotoError
from deepphoto.segmenter import Segmenter
from deepphoto.stream.composite import blend, feather, make_effect
from deepphoto.stream.pipeline import FrameProcessor, process_file
from deepphoto.stream.smoothing import MaskSmoother
from deepphoto.stream.video_file import VideoFileSink


def write_clip(path, frames=12, size=(96, 64), fps=Fraction(25)):
    with VideoFileSink(path, fps, Fraction(1, 25)) as sink:
        for i in range(frames):
            img = np.zeros((size[1], size[0], 3), np.uint8)
            img[:, (i * 5) % size[0] :] = 200
            sink.write(img, i)
    return path


def probe(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return n, float(s.average_rate), (s.width, s.height), c.duration


def test_file_to_file_keeps_every_frame_and_the_rate(tmp_path):
    src = write_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mkv"
    processor = FrameProcessor(Segmenter("onnx"), make_effect("blur"))
    written, frames, _ = process_file(src, out, processor)
    assert written == out and frames == 12
    n, fps, size, duration = probe(out)
    assert n == 12 and fps == pytest.approx(25) and size == (96, 64)
    assert duration == pytest.approx(probe(src)[3], rel=0.05)
    assert not list(tmp_path.glob(".*partial*"))


def test_sink_refuses_a_missing_folder(tmp_path):
    with pytest.raises(DeepPhotoError, match="does not exist"):
        VideoFileSink(tmp_path / "no" / "x.mp4", Fraction(30))


def test_blend_regions_on_a_known_mask():
    frame = np.zeros((2, 2, 3), np.uint8)
    effect = np.full((2, 2, 3), 200, np.uint8)
    person = np.array([[1.0, 0.0], [0.5, 0.25]], np.float32)
    assert (blend(frame, effect, person, "whole") == 200).all()
    bg = blend(frame, effect, person, "background")[..., 0]
    assert bg.tolist() == [[0, 200], [100, 150]]
    fg = blend(frame, effect, person, "person")[..., 0]
    assert fg.tolist() == [[200, 0], [100, 50]]
    with pytest.raises(DeepPhotoError, match="whole, background, person"):
        blend(frame, effect, person, "sky")


def test_feather_is_soft_only_near_the_edge():
    person = np.zeros((41, 41), np.float32)
    person[:, 20:] = 1.0
    alpha = feather(person, radius=3)
    assert alpha[20, 0] == pytest.approx(0.0, abs=1e-6) and alpha[20, 40] == pytest.approx(1.0, abs=1e-6)
    assert 0.2 < alpha[20, 20] < 0.8


def test_smoother_holds_still_noise_and_follows_motion_at_once():
    rng = np.random.default_rng(0)
    smoother = MaskSmoother(smooth=0.6)
    base = np.zeros((32, 32), np.float32)
    base[:, :16] = 1.0
    raw_changes, smooth_changes, prev_raw, prev_out = [], [], None, None
    for _ in range(30):
        raw = np.clip(base + rng.normal(0, 0.03, base.shape).astype(np.float32), 0, 1)
        out = smoother(raw).copy()
        if prev_raw is not None:
            raw_changes.append(np.abs(raw - prev_raw).mean())
            smooth_changes.append(np.abs(out - prev_out).mean())
        prev_raw, prev_out = raw, out
    assert np.mean(smooth_changes) < 0.5 * np.mean(raw_changes)
    moved = np.zeros_like(base)
    moved[:, :20] = 1.0  # the edge moves 4 pixels in one frame
    out = smoother(moved)
    assert (out[:, 16:20] > 0.9).all()  # followed within the same frame
