"""Compositing and smoothing arithmetic on synthetic frames with known masks."""

import numpy as np
import pytest

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.composite import blend, feather
from deepphoto.stream.refine import guided_filter
from deepphoto.stream.smoothing import MaskSmoother


def test_blend_regions_on_a_known_mask():
    frame = np.zeros((2, 2, 3), np.uint8)
    effect = np.full((2, 2, 3), 200, np.uint8)
    person = np.array([[1.0, 0.0], [0.5, 0.25]], np.float32)
    assert (blend(frame, effect, person, "whole") == 200).all()
    assert blend(frame, effect, person, "background")[..., 0].tolist() == [[0, 200], [100, 150]]
    assert blend(frame, effect, person, "person")[..., 0].tolist() == [[200, 0], [100, 50]]
    with pytest.raises(DeepPhotoError, match="whole, background, person"):
        blend(frame, effect, person, "sky")


def test_feather_is_soft_only_near_the_edge():
    person = np.zeros((41, 41), np.float32)
    person[:, 20:] = 1.0
    alpha = feather(person, radius=3)
    assert alpha[20, 0] == pytest.approx(0.0, abs=1e-6) and alpha[20, 40] == pytest.approx(1.0, abs=1e-6)
    assert 0.2 < alpha[20, 20] < 0.8
    hard = feather(person, radius=0)
    assert set(np.unique(hard)) <= {0.0, 1.0}


def test_threshold_moves_the_edge():
    ramp = np.tile(np.linspace(0, 1, 101, dtype=np.float32), (3, 1))
    low = feather(ramp, threshold=0.3, radius=0, softness=0.01)
    high = feather(ramp, threshold=0.7, radius=0, softness=0.01)
    assert (low > 0.5).sum() > (high > 0.5).sum()
    assert np.argmax(low[0] > 0.5) == pytest.approx(30, abs=1)
    assert np.argmax(high[0] > 0.5) == pytest.approx(70, abs=1)


def test_smoother_holds_still_noise_and_follows_motion_at_once():
    rng = np.random.default_rng(0)
    smoother = MaskSmoother(smooth=0.7)
    base = np.zeros((32, 32), np.float32)
    base[:, :16] = 1.0
    raw_changes, smooth_changes, prev_raw, prev_out = [], [], None, None
    for _ in range(30):
        raw = np.clip(base + rng.normal(0, 0.03, base.shape).astype(np.float32), 0, 1)
        out = smoother(raw, grey=base * 0.5).copy()
        if prev_raw is not None:
            raw_changes.append(np.abs(raw - prev_raw).mean())
            smooth_changes.append(np.abs(out - prev_out).mean())
        prev_raw, prev_out = raw, out
    assert np.mean(smooth_changes) < 0.5 * np.mean(raw_changes)
    moved = np.zeros_like(base)
    moved[:, :20] = 1.0  # the edge moves 4 pixels in one frame
    out = smoother(moved, grey=moved * 0.5)
    assert (out[:, 16:20] > 0.9).all()  # followed within the same frame, no trailing


def test_guided_filter_snaps_a_blocky_mask_to_the_image_edge():
    h, w = 64, 64
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:, 30:] = 255  # the true edge is at x = 30
    coarse = np.zeros((h, w), np.float32)
    coarse[:, 24:] = 1.0  # the network's blocky edge, 6 pixels off
    refined = guided_filter(frame, coarse, radius=16, eps=1e-4, scale=2)
    row = refined[h // 2]
    # Inside the flat dark region the filter pulls toward the region's mean, away from 1.
    assert row[27] < coarse[h // 2, 27]
    assert row[40] > 0.8
    assert refined.shape == coarse.shape and refined.dtype == np.float32


def test_replace_background_with_an_image_and_a_looping_video(tmp_path):
    import cv2
    from media import make_clip

    from deepphoto.stream.effects import make_effect

    picture = tmp_path / "beach.png"
    cv2.imwrite(str(picture), np.full((100, 200, 3), (10, 200, 30), np.uint8))
    frame = np.zeros((48, 64, 3), np.uint8)
    still = make_effect("replace", picture)(frame)
    assert still.shape == frame.shape and tuple(still[10, 10]) == (10, 200, 30)
    video = make_effect("replace", make_clip(tmp_path / "bg.mp4", frames=3))
    outs = [video(frame) for _ in range(7)]  # more frames than the clip has: it loops
    assert all(o.shape == frame.shape for o in outs)
    with pytest.raises(DeepPhotoError, match="needs background=IMAGE_OR_VIDEO"):
        make_effect("replace")


def test_live_keys_cycle_looks_and_regions_and_save_snapshots(tmp_path, monkeypatch):
    from deepphoto.segmenters.lightnet import LightNetSegmenter
    from deepphoto.stream.effects import make_effect
    from deepphoto.stream.loop import handle_key
    from deepphoto.stream.processor import FrameProcessor, Look

    monkeypatch.chdir(tmp_path)
    looks = [Look("blur", make_effect("blur")), Look("grey", make_effect("grey"))]
    proc = FrameProcessor(LightNetSegmenter("onnx"), looks, region="background")
    image = np.zeros((8, 8, 3), np.uint8)
    assert not handle_key(ord("s"), proc, image) and proc.look.name == "grey"
    assert not handle_key(ord("r"), proc, image) and proc.region == "person"
    assert not handle_key(ord("p"), proc, image) and len(list(tmp_path.glob("deepphoto-snapshot-*.png"))) == 1
    assert handle_key(ord("q"), proc, image) and handle_key(27, proc, image)
    assert not handle_key(-1, proc, image)
