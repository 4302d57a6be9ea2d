"""Property-based tests of the frame conversions over random sizes, channel counts and dtypes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import to_bgr8, to_network_input
from deepphoto.settings import parse_size
from deepphoto.stream.composite import blend, feather

sizes = st.integers(min_value=1, max_value=48)
channels = st.sampled_from([None, 1, 3, 4])
dtypes = st.sampled_from([np.uint8, np.uint16, np.float32])


@st.composite
def frames(draw):
    h, w, c, dtype = draw(sizes), draw(sizes), draw(channels), draw(dtypes)
    shape = (h, w) if c is None else (h, w, c)
    if dtype == np.float32:
        elements = st.floats(-1.0, 2.0, width=32)
    else:
        elements = st.integers(0, int(np.iinfo(dtype).max))
    return draw(arrays(dtype, shape, elements=elements))


@settings(max_examples=150, deadline=None)
@given(frames())
def test_any_frame_becomes_bgr8_of_the_same_size(frame):
    out = to_bgr8(frame)
    assert out.shape == frame.shape[:2] + (3,) and out.dtype == np.uint8 and out.flags.c_contiguous
    if frame.ndim == 2 or frame.shape[2] == 1:
        assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    if frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] >= 3:
        assert (out == frame[..., :3]).all()


@settings(max_examples=80, deadline=None)
@given(frames(), st.sampled_from([(256, 256), (320, 192), (64, 32)]))
def test_network_input_is_rgb_in_unit_range(frame, size):
    x = to_network_input(to_bgr8(frame), size)
    assert x.shape == (1, 3, size[1], size[0]) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0


@settings(max_examples=80, deadline=None)
@given(sizes, sizes, st.floats(0.05, 0.95), st.integers(0, 5))
def test_blend_stays_between_frame_and_effect(h, w, threshold, radius):
    rng = np.random.default_rng(h * 100 + w)
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    effect = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = feather(rng.random((h, w)).astype(np.float32), threshold, radius)
    assert alpha.shape == (h, w) and 0.0 <= alpha.min() and alpha.max() <= 1.0
    out = blend(frame, effect, alpha, "background").astype(int)
    lo, hi = np.minimum(frame, effect).astype(int), np.maximum(frame, effect).astype(int)
    assert ((out >= lo - 1) & (out <= hi + 1)).all()


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 5, 3), np.uint8),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((4, 4, 3), np.int64),
        np.zeros((2, 2, 2, 2), np.uint8),
    ],
)
def test_frames_that_cannot_be_images_are_refused(bad):
    with pytest.raises(DeepPhotoError):
        to_bgr8(bad)


@given(st.integers(1, 9999), st.integers(1, 9999))
def test_parse_size_round_trips(w, h):
    assert parse_size(f"{w}x{h}") == (w, h)
