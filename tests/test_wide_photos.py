"""Very wide and very tall pictures are segmented window by window (a segmenter squashes its input
to a square: the people of a 3000x300 panorama became a few pixels wide and none was found)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepphoto.segmenters.base import PersonSegmenter
from deepphoto.segmenters.tiles import (
    MAX_ASPECT,
    PHOTO_MAX_ASPECT,
    needs_windows,
    person_probability,
    window_starts,
    windowed_probability,
)
from deepphoto.stream.effects import make_effect
from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings


class SquashingSegmenter(PersonSegmenter):
    """A stand-in network that sees what a real one sees: its input squashed to 24x24 (averaged),
    and "person" where that small picture is red. A person narrower than a 24th of the picture
    is averaged away."""

    name = "squash"

    def __init__(self) -> None:
        self.calls = 0

    @classmethod
    def open(cls, options: object) -> SquashingSegmenter:
        return cls()

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return cv2.resize(frame, (24, 24), interpolation=cv2.INTER_AREA)

    def infer(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        return (x[..., 2].astype(np.float32) > 100).astype(np.float32)


def panorama(h: int, w: int, people: int) -> tuple[np.ndarray, np.ndarray]:
    """A grey picture with ``people`` red upright blocks (a person each, a third as wide as tall)."""
    image = np.full((h, w, 3), 90, np.uint8)
    truth = np.zeros((h, w), bool)
    for i in range(people):
        cx = round((i + 0.5) * w / people)
        half = max(1, h // 6)
        image[h // 8 :, cx - half : cx + half] = (0, 0, 230)
        truth[h // 8 :, cx - half : cx + half] = True
    return image, truth


def iou(prob: np.ndarray, truth: np.ndarray) -> float:
    mask = cv2.resize(prob, truth.shape[::-1], interpolation=cv2.INTER_LINEAR) > 0.5
    return float((mask & truth).sum() / max(1, (mask | truth).sum()))


def test_windows_cover_the_long_side_with_overlap() -> None:
    for length, window in ((3000, 450), (1000, 450), (451, 450), (450, 450), (300, 450)):
        starts = window_starts(length, window)
        assert starts[0] == 0 and starts[-1] == max(0, length - window)
        assert all(b - a <= 0.75 * window + 1 for a, b in zip(starts, starts[1:]))  # a quarter shared


@pytest.mark.parametrize("shape", [(300, 3000), (3000, 300), (200, 2400)])
def test_a_wide_or_tall_picture_finds_its_people_window_by_window(shape: tuple[int, int]) -> None:
    h, w = shape
    image, truth = panorama(h, w, 6) if w > h else (np.ascontiguousarray(a.swapaxes(0, 1)) for a in panorama(w, h, 1))
    seg = SquashingSegmenter()
    whole = seg.infer(seg.prepare(image))
    windows = windowed_probability(seg, image)
    assert iou(windows, truth) > 0.8, iou(windows, truth)
    assert iou(windows, truth) > iou(whole, truth) + 0.2
    assert windows.shape[0] / windows.shape[1] == pytest.approx(h / w, rel=0.05)  # the picture's shape


def test_windows_join_without_a_seam() -> None:
    seg = SquashingSegmenter()
    red = np.zeros((200, 1400, 3), np.uint8)
    red[..., 2] = 230
    joined = windowed_probability(seg, red)
    np.testing.assert_allclose(joined, 1.0, atol=1e-5)
    ramp = np.tile(np.linspace(0, 255, 1400, dtype=np.float32), (200, 1))  # red rising left to right
    red[..., 2] = ramp.astype(np.uint8)
    cols = windowed_probability(seg, red).mean(0)
    assert np.all(np.diff(cols) >= -1e-5)  # one edge, where the red passes 100; no step back at a seam


def test_only_past_the_limit_and_photos_sooner_than_video() -> None:
    assert not needs_windows((720, 1280)) and not needs_windows((1080, 1920))  # 16:9 video: whole
    assert needs_windows((300, 1000)) and needs_windows((1000, 300))
    assert needs_windows((720, 1280), PHOTO_MAX_ASPECT) and not needs_windows((480, 640), PHOTO_MAX_ASPECT)
    seg = SquashingSegmenter()
    person_probability(seg, np.zeros((480, 640, 3), np.uint8))
    assert seg.calls == 1  # an ordinary frame: one network call, as before
    assert PHOTO_MAX_ASPECT < MAX_ASPECT


def test_the_processor_segments_a_panorama_by_windows_and_keeps_the_low_shape() -> None:
    seg = SquashingSegmenter()
    proc = FrameProcessor(seg, [Look("grey", make_effect("grey"))], settings=MaskSettings(smooth=0.0, refine=False))
    image, truth = panorama(300, 3000, 6)
    alpha = proc.person_alpha(image)
    assert ((alpha > 0.5) == truth).mean() > 0.95
    calls = seg.calls
    assert calls > 1
    proc.person_alpha(image)  # the next frame: the same joined shape (the smoother's state fits it)
    assert seg.calls == 2 * calls


def test_a_very_long_strip_takes_a_bounded_number_of_network_calls() -> None:
    """The windows were 1.5 times the short side: a 4000x40 strip took 67 network calls a frame,
    a 1000x1 one 667 (a review's count); a picture under 32 pixels across is not cut at all."""
    from deepphoto.segmenters.tiles import MAX_WINDOWS

    for h, w in ((40, 4000), (300, 20000), (2000, 33)):
        seg = SquashingSegmenter()
        prob = person_probability(seg, np.zeros((h, w, 3), np.uint8))
        assert 1 < seg.calls <= MAX_WINDOWS, (h, w, seg.calls)
        assert prob.shape[0] / prob.shape[1] == pytest.approx(h / w, rel=0.1)
    for h, w in ((1, 1000), (20, 4000), (5000, 1)):
        seg = SquashingSegmenter()
        person_probability(seg, np.zeros((h, w, 3), np.uint8))
        assert seg.calls == 1, (h, w)
