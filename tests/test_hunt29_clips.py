"""Hunt 29 (clips): what `deepphoto run` makes of users' videos, looked at frame by frame."""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings

PAINT = (130, 102, 66)  # the flat slate blue Starry Night paints black bars


def picture(h: int, w: int, seed: int = 1) -> np.ndarray:
    """A lit, textured picture with a bright 'person' in the middle."""
    rng = np.random.default_rng(seed)
    grey = cv2.GaussianBlur(rng.uniform(60, 160, (h, w)).astype(np.float32), (0, 0), 2)
    out = cv2.merge([grey, grey * 0.9, grey * 0.8]).astype(np.uint8)
    cv2.circle(out, (w // 2, h // 2), min(h, w) // 4, (240, 240, 240), -1)
    return out


def padded(inner: np.ndarray, h: int, w: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``inner`` centred on black in an ``h`` x ``w`` frame, and its box (top, bottom, left, right)."""
    ih, iw = inner.shape[:2]
    top, left = (h - ih) // 2, (w - iw) // 2
    frame = np.zeros((h, w, 3), np.uint8)
    frame[top : top + ih, left : left + iw] = inner
    return frame, (top, top + ih, left, left + iw)


class RecordingSegmenter:
    """The person where the picture is bright; remembers the shapes it was given."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        self.shapes.append(frame.shape)
        return frame

    def infer(self, x: np.ndarray) -> np.ndarray:
        bright = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY) > 200).astype(np.float32)
        return cv2.resize(bright, (44, 44), interpolation=cv2.INTER_AREA)


def flat_painter() -> object:
    """A stand-in style network that paints black (and everything else) a flat slate blue."""

    def paint(frame: np.ndarray) -> np.ndarray:
        return np.full_like(frame, PAINT)

    paint.stylizer = "fake"  # type: ignore[attr-defined]  # a neural painting (held)
    return paint


def test_the_picture_inside_black_bars_is_found() -> None:
    from deepphoto.picture_box import picture_box

    inner = picture(108, 192)  # 16:9 padded to a phone's 9:16
    frame, box = padded(inner, 341, 192)
    assert picture_box(frame) == box
    frame, box = padded(picture(120, 160), 120, 214)  # 4:3 in 16:9: pillarbox
    assert picture_box(frame) == box
    frame, box = padded(picture(90, 160), 120, 200)  # both
    assert picture_box(frame) == box
    # compression's faint noise in the bars is still black
    noisy = frame.copy()
    rng = np.random.default_rng(2)
    noisy[:10] = rng.integers(0, 4, noisy[:10].shape)
    assert picture_box(noisy) == box


def test_no_bars_where_there_are_none() -> None:
    from deepphoto.picture_box import picture_box

    assert picture_box(picture(120, 160)) is None
    assert picture_box(np.zeros((120, 160, 3), np.uint8)) is None  # a black frame (a fade)
    rng = np.random.default_rng(4)
    dark = rng.integers(0, 30, (120, 160, 3)).astype(np.uint8)  # a dark, noisy room
    assert picture_box(dark) is None
    sky = picture(120, 160)
    sky[:30] = 0  # a black night sky at the top only: not a pair of bars
    assert picture_box(sky) is None
    thin, _ = padded(picture(116, 160), 120, 160)  # two rows each side: too thin to be bars
    assert picture_box(thin) is None
    night = dark.copy()  # a dark scene black at both sides, lit only here and there next to them
    night[:, :20] = night[:, -20:] = 0
    night[:, 20:] = np.where(night[:, 20:] > 20, 0, night[:, 20:])
    night[::9, 20:40] = night[::9, -40:-20] = 90
    assert picture_box(night) is None


def test_a_dark_scene_inside_the_bars_keeps_the_box() -> None:
    from deepphoto.picture_box import picture_box

    frame, box = padded(picture(108, 192), 341, 192)
    dark = frame.copy()
    dark[box[0] : box[0] + 20] = 0  # the picture's own top goes black: the bars have not moved
    assert picture_box(dark, box) == box
    lit = frame.copy()
    lit[:5] = 200  # something lit where the bars were: found afresh
    assert picture_box(lit, box) is None


def run_clip(frames: list[np.ndarray], region: str) -> tuple[list[np.ndarray], RecordingSegmenter]:
    segmenter = RecordingSegmenter()
    processor = FrameProcessor(segmenter, [Look("fake", flat_painter())], region, MaskSettings())
    try:
        return [processor(f) for f in frames], segmenter
    finally:
        processor.close()


def test_black_bars_of_a_video_are_not_painted_and_not_segmented() -> None:
    """A landscape clip padded to 9:16 (as phones share it): the bars were painted a flat slab of
    slate blue, and the picture, squashed with them into the network's square, was segmented at a
    third of its height."""
    frames = []
    for t in range(4):
        frame, box = padded(np.roll(picture(108, 192), 3 * t, axis=1), 341, 192)
        frames.append(frame)
    top, bottom, left, right = box
    for region in ("background", "whole"):
        outs, segmenter = run_clip(frames, region)
        for out in outs:
            assert int(out[:top].max()) == 0 and int(out[bottom:].max()) == 0, region
            inside = out[top:bottom, left:right]
            assert (inside == PAINT).all(axis=2).mean() > 0.5, region  # the picture is still painted
        if region == "background":
            assert segmenter.shapes and all(s[:2] == (bottom - top, right - left) for s in segmenter.shapes)
            person = outs[-1][top:bottom, left:right][54, 96]
            assert tuple(int(v) for v in person) == (240, 240, 240)  # the person is not painted


def test_a_photo_with_black_bars_is_still_taken_whole() -> None:
    frame, _ = padded(picture(108, 192), 300, 192)  # (not so tall that a photo is cut into windows)
    segmenter = RecordingSegmenter()
    processor = FrameProcessor(segmenter, [Look("fake", flat_painter())], "background", MaskSettings())
    try:
        with processor.photo_mode():
            processor(frame)
        assert segmenter.shapes == [frame.shape]
        processor(frame)  # a stream again afterwards
        assert segmenter.shapes[-1][:2] == (108, 192)
    finally:
        processor.close()


def test_the_whole_frame_styled_does_not_say_the_segmenter_ran_on_0() -> None:
    from deepphoto.stream.loop import RunSummary

    summary = RunSummary(None, frames_in=90, frames_out=90, seconds=1.0)
    assert "segmenter" not in summary.line(0)  # --region whole: no mask is needed
    assert "segmenter ran on 30" in summary.line(30)  # --seg-every 3
    assert "segmenter" not in summary.line(90)
