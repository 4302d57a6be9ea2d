"""Hunt 29 (fades): a video's black frames (a fade's ends, the black a clip opens with, a title
card, a cut to black) are not painted a flat slab, and no painting is held over a fade."""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings, painting_weight
from tests.conftest import SHARED, needs_shared

SLAB = (130, 102, 66)  # the flat slate blue Starry Night paints a black frame


def picture(h: int = 96, w: int = 128, seed: int = 1) -> np.ndarray:
    """A lit, textured picture with a bright 'person' in the middle."""
    rng = np.random.default_rng(seed)
    grey = cv2.GaussianBlur(rng.uniform(60, 200, (h, w)).astype(np.float32), (0, 0), 2)
    out = cv2.merge([grey, grey * 0.9, grey * 0.8]).astype(np.uint8)
    cv2.circle(out, (w // 2, h // 2), min(h, w) // 5, (240, 240, 240), -1)
    return out


def faded(frame: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(frame.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


class BrightSegmenter:
    """The person where the picture is bright."""

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def infer(self, x: np.ndarray) -> np.ndarray:
        bright = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY) > 200).astype(np.float32)
        return cv2.resize(bright, (44, 44), interpolation=cv2.INTER_AREA)


def normalising_painter() -> object:
    """A stand-in style network: like StyleNet it normalises the picture, so a dim frame is painted
    as light as a bright one, and a black one is a flat slab."""

    def paint(frame: np.ndarray) -> np.ndarray:
        f = frame.astype(np.float32)
        std = float(f.std())
        if std < 1.0:
            return np.full_like(frame, SLAB)
        out = (f - f.mean()) / std * 40.0 + np.array(SLAB, np.float32)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    paint.stylizer = "fake"  # type: ignore[attr-defined]  # a neural painting (held)
    return paint


def run(frames: list[np.ndarray], region: str) -> list[np.ndarray]:
    processor = FrameProcessor(BrightSegmenter(), [Look("fake", normalising_painter())], region, MaskSettings())
    try:
        return [processor(f) for f in frames]
    finally:
        processor.close()


def test_black_frames_of_a_video_stay_black() -> None:
    """A fade to black, a cut to black, black opening frames: each was a flat slate slab (with the
    last person's silhouette cut out of it on the background), whatever the region."""
    lit = picture()
    black = np.zeros_like(lit)
    near_black = faded(lit, 0.02)  # a fade's last frame: a few grey levels
    frames = [black, black, lit, lit, black, black, near_black, lit]
    for region in ("background", "whole"):
        outs = run(frames, region)
        for i in (0, 1, 4, 5, 6):
            assert np.array_equal(outs[i], frames[i]), (region, i)
        assert (np.abs(outs[3].astype(int) - lit).max(axis=2) > 20).mean() > 0.5, region  # still painted


def test_a_title_card_is_shown_as_it_is() -> None:
    """Black with white text: it was a slab with the text on it."""
    card = np.zeros((96, 128, 3), np.uint8)
    cv2.putText(card, "THE END", (30, 52), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    assert 0.02 < (card > 0).any(axis=2).mean() < 0.1  # lettering: a few percent of the card
    assert painting_weight(card) == 0.0
    for region in ("background", "whole"):
        outs = run([picture(), card, card], region)
        assert np.array_equal(outs[1], card) and np.array_equal(outs[2], card), region


def test_a_fade_from_black_takes_the_painting_in_with_the_picture() -> None:
    """A fade in over 15 frames: the painting's share grows with the picture's light (none on black,
    all of it once lit), and where the picture is lit it shows this frame's painting, not the slab
    of the black frames held over the fade (it lingered for about 8 frames)."""
    lit = picture()
    frames = [np.zeros_like(lit)] * 3 + [faded(lit, (i + 1) / 15) for i in range(15)]
    weights = [painting_weight(f) for f in frames]
    assert weights[:3] == [0.0, 0.0, 0.0] and weights[-1] == 1.0
    assert all(a <= b for a, b in zip(weights, weights[1:]))  # never back down on a fade in
    assert any(0.0 < w < 1.0 for w in weights)  # a ramp, not a switch
    outs = run(frames, "whole")
    paint = normalising_painter()
    first_lit = weights.index(1.0)
    assert np.array_equal(outs[first_lit], paint(frames[first_lit]))  # type: ignore[operator]
    light = [float(o.mean()) for o in outs[: first_lit + 1]]
    assert light[:3] == [0.0, 0.0, 0.0]  # out of black, not out of a slab
    assert all(a <= b + 1.0 for a, b in zip(light, light[1:]))
    first_partial = next(i for i, w in enumerate(weights) if w > 0.0)
    assert weights[first_partial] < 0.5 and light[first_partial] < 0.5 * light[first_lit]  # emerging


def test_dim_scenes_are_painted_as_before() -> None:
    """A dim room (under a third of the light of a lit one) and a dark stage with a lit speaker are painted
    in full: the rule is for black frames only."""
    assert painting_weight(faded(picture(), 0.3)) == 1.0
    stage = np.full((96, 128, 3), 8, np.uint8)
    stage[:, 40:90] = 60  # a lit stretch of the stage
    assert painting_weight(stage) == 1.0


def test_a_photo_is_painted_whatever_its_light() -> None:
    black = np.zeros((96, 128, 3), np.uint8)
    processor = FrameProcessor(BrightSegmenter(), [Look("fake", normalising_painter())], "whole", MaskSettings())
    try:
        with processor.photo_mode():
            out = processor(black)
    finally:
        processor.close()
    assert (out == SLAB).all()


@needs_shared
def test_no_frame_of_the_darkest_shared_clips_is_changed() -> None:
    """The dim stage (short_hamilton_clip, mean grey down to 16) and the pedestrians from above:
    every frame keeps its full painting (measured on all 3,475 shared frames: none below 1)."""
    for name in ("short_hamilton_clip.mp4", "vtest.avi"):
        capture = cv2.VideoCapture(str(SHARED / "video" / name))
        count = 0
        while count < 300:
            ok, frame = capture.read()
            if not ok:
                break
            assert painting_weight(frame) == 1.0, (name, count)
            count += 1
        capture.release()
        assert count > 100, name
