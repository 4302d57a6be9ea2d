"""The network input: the same numbers as the plain conversion, in one contiguous buffer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepphoto.frames import to_network_input


def _plain(bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    shrink = bgr.shape[1] > w or bgr.shape[0] > h
    small = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    return (rgb.astype(np.float32) * (1 / 255)).transpose(2, 0, 1)[None]


@pytest.mark.parametrize("shape", [(480, 640), (37, 1001), (1, 1), (352, 352), (721, 97)])
@pytest.mark.parametrize("size", [(352, 352), (256, 160)])
def test_same_numbers_contiguous(shape: tuple[int, int], size: tuple[int, int]) -> None:
    bgr = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    x = to_network_input(bgr, size)
    assert x.shape == (1, 3, size[1], size[0]) and x.dtype == np.float32
    assert x.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(x, _plain(bgr, size))


def test_channels_are_rgb() -> None:
    bgr = np.zeros((64, 64, 3), np.uint8)
    bgr[..., 0] = 255  # blue
    x = to_network_input(bgr, (32, 32))
    assert x[0, 2].min() == 1.0 and x[0, 0].max() == 0.0 and x[0, 1].max() == 0.0


def test_style_input_same_numbers() -> None:
    from deepphoto.frames import rgb_planes

    bgr = np.random.default_rng(5).integers(0, 256, (123, 77, 3), dtype=np.uint8)
    plain = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32).transpose(2, 0, 1)[None] * (1 / 255)
    x = rgb_planes(bgr)
    assert x.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(x, plain)


def test_mediapipe_input_same_numbers() -> None:
    pytest.importorskip("ai_edge_litert", reason="the MediaPipe peer needs the 'peers' extra")
    from deepphoto.segmenters.mediapipe import MediaPipeSegmenter

    try:
        seg = MediaPipeSegmenter()
    except Exception as e:  # the .tflite is fetched by 'deepphoto assets'
        pytest.skip(f"MediaPipe's selfie model is not cached: {e}")
    bgr = np.random.default_rng(6).integers(0, 256, (301, 203, 3), dtype=np.uint8)
    small = cv2.resize(bgr, seg.input_size, interpolation=cv2.INTER_AREA)
    plain = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32)[None] * (1 / 255)
    np.testing.assert_array_equal(seg.prepare(bgr), plain)


@pytest.mark.parametrize(
    "bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3), np.float32)]
)
def test_not_bgr8_refused(bad: np.ndarray) -> None:
    from deepphoto.errors import DeepPhotoError
    from deepphoto.frames import rgb_planes

    with pytest.raises(DeepPhotoError, match="BGR uint8"):
        rgb_planes(bad)
