"""``--style-image`` on a panorama or a tall strip: the any-painting network takes a fixed 384x384
square, and the whole strip was scaled to 384 on its long side (1800x360 to 384x77) and mirrored to
fill it, so the painting came back as coarse mush 4.7x enlarged (a picture review). It is painted
along its length in square windows of its short side instead, blended where they overlap."""

from __future__ import annotations

import numpy as np
import pytest

from deepphoto.arbitrary import PAINT_SIDE, ArbitraryStyle


class Identity:
    """A stand-in transform network: the photo back as it came (so the windows' geometry shows)."""

    class _Input:
        shape = (1, 1, 1, 100)

    inputs = [None, _Input()]

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def run(self, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
        self.shapes.append(rgb.shape)
        return rgb


def smooth_picture(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([40 + 150 * x / w, 60 + 120 * y / h, 200 - 100 * x / w]).astype(np.uint8)


@pytest.mark.parametrize("shape", [(360, 1800), (1300, 360), (200, 301)])
def test_a_strip_is_painted_in_windows_that_join_without_a_seam(shape):
    net = Identity()
    style = ArbitraryStyle(predict=None, transform=net)  # type: ignore[arg-type]
    image = smooth_picture(*shape)
    out = style.paint(image, np.zeros((1, 1, 1, 100), np.float32))
    assert out.shape == image.shape
    assert all(s == (1, PAINT_SIDE, PAINT_SIDE, 3) for s in net.shapes)  # square windows, never padded
    assert len(net.shapes) > 1
    assert np.abs(out.astype(int) - image).max() <= 3  # identity windows rebuild the picture: no seam, no shift


def test_a_photo_of_ordinary_shape_is_painted_whole():
    net = Identity()
    style = ArbitraryStyle(predict=None, transform=net)  # type: ignore[arg-type]
    style.paint(smooth_picture(300, 400), np.zeros((1, 1, 1, 100), np.float32))
    assert net.shapes == [(1, PAINT_SIDE, PAINT_SIDE, 3)]
