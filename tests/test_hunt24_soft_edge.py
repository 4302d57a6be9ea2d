"""A transparent cut-out kept transparent (``edit x.png out.png``, background region): the mask,
made from the picture laid on white, stops short of the cut-out's soft edge, and those visible,
partly clear pixels were painted as background in the colour of the painted white around them (a
dark fringe round the hair with a dark style). Near the person, the picture's partly clear pixels
are now the person's."""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.stream.composite import with_soft_edge
from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings

SIZE = 96


def cut_out() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame laid on white, its alpha with a soft edge 3 px wide, the tight person mask)."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    r = np.hypot(yy - SIZE / 2, xx - SIZE / 2)
    alpha = np.clip((33 - r) / 3 * 255, 0, 255).astype(np.uint8)  # opaque inside r 30, clear beyond r 33
    frame = np.full((SIZE, SIZE, 3), 255, np.uint8)
    frame[alpha > 0] = (40, 60, 90)
    tight = (r < 30).astype(np.float32)
    return frame, alpha, tight


def test_partly_clear_pixels_near_the_person_are_the_persons() -> None:
    _, alpha, tight = cut_out()
    out = with_soft_edge(tight, alpha)
    soft = (alpha > 0) & (alpha < 255)
    assert soft.any() and (out[soft] == 1.0).all()
    np.testing.assert_array_equal(out[~soft], tight[~soft])  # opaque and clear pixels as the mask says


def test_far_from_the_person_and_without_transparency_nothing_changes() -> None:
    _, alpha, tight = cut_out()
    far = np.zeros_like(tight)
    far[:10, :10] = 1.0  # a person in the corner: the soft ring around the middle is not theirs
    np.testing.assert_array_equal(with_soft_edge(far, alpha), far)
    opaque = np.full_like(alpha, 255)
    assert with_soft_edge(tight, opaque) is tight


class Tight:
    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def infer(self, x: np.ndarray) -> np.ndarray:
        return cut_out()[2]


def test_the_soft_edge_of_a_kept_transparency_is_not_painted() -> None:
    frame, alpha, tight = cut_out()

    def dark_painter(image: np.ndarray) -> np.ndarray:
        return np.full_like(image, 10)

    settings = MaskSettings(smooth=0.0, refine=False, feather=0)
    processor = FrameProcessor(Tight(), [Look("dark", dark_painter)], "background", settings)
    try:
        before = processor(frame)
        processor.reset()
        processor.own_alpha = alpha
        after = processor(frame)
    finally:
        processor.close()
    soft = (alpha > 0) & (alpha < 255)
    grey_before = cv2.cvtColor(before, cv2.COLOR_BGR2GRAY)[soft]
    assert (grey_before < 40).mean() > 0.5  # without it: the fringe painted dark
    np.testing.assert_array_equal(after[soft], frame[soft])  # with it: the cut-out's own colours
    np.testing.assert_array_equal(after[alpha == 0], before[alpha == 0])  # the clear part painted alike
