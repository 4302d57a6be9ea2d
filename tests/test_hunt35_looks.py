"""Hunt 35 (looks): what `deepphoto edit` makes of photos the other tests rarely use (a 12-megapixel
photo, a tiny one, a dark one, no person...), looked at as a user restyling photos would."""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.stream.effects import make_effect
from deepphoto.stream.processor import FrameProcessor, Look


def _blocks(w: int, h: int) -> np.ndarray:
    """The same picture at any size: 80x60 random blocks (8 pixels each at 640x480)."""
    rng = np.random.default_rng(0)
    return cv2.resize(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)


def test_the_blur_reaches_the_same_share_of_a_large_photo_as_of_a_small_one() -> None:
    """The default effect on a 4x larger picture, scaled back down, is the 640x480 one's blur (before:
    its kernel was 20 pixels at any size, so a 12-megapixel photo's background came back almost
    sharp: here 31 levels from the small one's on average, its detail 63 of 75 where 640x480's
    kept 35)."""
    blur = make_effect("blur")
    small = blur(_blocks(640, 480))
    large = blur(_blocks(2560, 1920))
    assert large.shape == (1920, 2560, 3)
    seen = cv2.resize(large, (640, 480), interpolation=cv2.INTER_AREA)
    assert np.abs(seen.astype(np.int16) - small).mean() < 2
    assert seen.std() < 1.2 * small.std()


def test_the_blur_of_a_frame_of_640x480_or_less_is_as_before() -> None:
    """Up to 640x480 it is blurred at a quarter of its size, as it was (a 1-pixel side too)."""
    blur = make_effect("blur")
    for w, h in ((640, 480), (480, 640), (120, 90), (3, 1)):
        frame = _blocks(w, h)
        size = (max(1, w // 4), max(1, h // 4))
        reduced = cv2.GaussianBlur(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), (5, 5), 0)
        assert np.array_equal(blur(frame), cv2.resize(reduced, (w, h), interpolation=cv2.INTER_LINEAR))


class FixedSegmenter:
    """A stand-in network: the given probabilities at a small size, every call."""

    def __init__(self, prob: np.ndarray) -> None:
        self.prob = prob

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.prob


def _dark_figure_on_a_light_wall() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(a 320x240 photo: a dark disc on a light wall, the network's probability, each pixel's distance
    out of the disc, and into it)."""
    disc = np.zeros((240, 320), np.uint8)
    cv2.circle(disc, (160, 120), 60, 1, -1)
    frame = np.full((240, 320, 3), 225, np.uint8)
    frame[disc > 0] = (40, 45, 60)
    prob = cv2.resize(disc.astype(np.float32), (80, 60), interpolation=cv2.INTER_AREA)
    out_of = cv2.distanceTransform((disc == 0).astype(np.uint8), cv2.DIST_L2, 5)
    return frame, prob, out_of, cv2.distanceTransform(disc, cv2.DIST_L2, 5)


def test_a_photo_s_cartoon_background_has_no_rim_round_the_person() -> None:
    """``edit --effect cartoon`` on the background of a photo: the wall next to the person is
    filtered as the wall further out is (before: the cartoon's black outline round the person, half
    of it on the wall shown; here the wall 2-6 pixels out of the figure 157 on average, 225 further
    out)."""
    effect = "cartoon"
    frame, prob, out_of, into = _dark_figure_on_a_light_wall()
    processor = FrameProcessor(FixedSegmenter(prob), [Look(effect, make_effect(effect))], "background")
    try:
        with processor.photo_mode():
            out = processor(frame)
    finally:
        processor.close()
    grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(np.float32)
    near, far = grey[(out_of >= 2) & (out_of <= 6)].mean(), grey[(out_of >= 18) & (out_of <= 30)].mean()
    assert near > far - 12, (near, far)
    assert np.array_equal(out[into > 8], frame[into > 8])  # the person as they are
