"""Defects earlier hunts left (hunt 35): a ``Pipeline`` held the last photo's full-size alpha after
``pipe.photo`` returned (216 MB for a 54-megapixel photo, for as long as a Studio or batch worker
lived); ..."""

from __future__ import annotations

import gc
import tracemalloc

import cv2
import numpy as np

from tests.test_hunt27_api import _person


def test_a_photo_styled_leaves_no_full_size_alpha_held_yet_its_mask_is_the_one_composited(grey_pipe):
    photo = cv2.resize(_person(), (1200, 900), interpolation=cv2.INTER_LINEAR)
    alpha_bytes = photo.shape[0] * photo.shape[1] * 4
    grey_pipe.photo(_person())  # the pipeline's own first-use allocations made outside the measure
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = grey_pipe.photo(photo)
        held = tracemalloc.get_traced_memory()[0] - before - out.nbytes
    finally:
        tracemalloc.stop()
    assert held < alpha_bytes / 4, f"{held} bytes held after the photo returned (its alpha: {alpha_bytes})"
    alpha = grey_pipe.mask(photo, photo=True)
    assert alpha.shape == photo.shape[:2] and alpha.dtype == np.float32 and alpha.flags.writeable
    grey = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR).astype(np.float32)
    rebuilt = photo * alpha[..., None] + grey * (1 - alpha[..., None])
    assert np.abs(rebuilt - out).max() <= 1.0  # the alpha it was composited with
    assert 0.05 < float((alpha > 0.5).mean()) < 0.95
    alpha[:] = 2  # the caller's own
    assert grey_pipe.mask(photo, photo=True).max() <= 1.0  # asked again: not the caller's changed copy
