"""With --seg-every N the frames in between were handed to the mask smoother with the last mask as if
it were new: where the picture moved it took that old mask at once and moved its reference picture
on, so the next fresh mask of a moving person read as still inside their uniform clothes and was
held off (a hunt: a third of a walking person painted on the frames just segmented, a trail of the
floor left unpainted behind them). The smoother now hears only fresh masks."""

from __future__ import annotations

import numpy as np

from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings

SIZE = 88


def floor() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(120, 220, (SIZE, SIZE), dtype=np.uint8)  # a textured floor


def walker(x: int) -> tuple[np.ndarray, np.ndarray]:
    """The frame (BGR) with a dark, evenly coloured person 20 px wide from column ``x``, and the
    person's true mask."""
    picture = floor()
    mask = np.zeros((SIZE, SIZE), np.float32)
    mask[20:80, x : x + 20] = 1.0
    picture[mask > 0] = 30
    return np.dstack([picture] * 3), mask


class Oracle:
    """A segmenter that finds the dark person exactly (the network's size is the frame's)."""

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def infer(self, x: np.ndarray) -> np.ndarray:
        return (x[..., 0] < 60).astype(np.float32)


def still_painter() -> object:
    def paint(frame: np.ndarray) -> np.ndarray:
        return np.full_like(frame, 200)

    return paint


def test_a_walking_person_is_followed_on_every_segmented_frame_with_seg_every() -> None:
    processor = FrameProcessor(Oracle(), [Look("flat", still_painter())], "background", MaskSettings(seg_every=3))
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    processor.recorder = lambda frame, grey, raw, smoothed: seen.append((raw.copy(), smoothed.copy()))
    try:
        truths = []
        for t in range(24):
            frame, truth = walker(4 + 2 * t)  # 2 px a frame: the person overlaps itself from frame to frame
            processor(frame)
            truths.append(truth)
    finally:
        processor.close()
    for t in range(3, 24, 3):  # the segmented frames (0, 3, 6, ...) after the first
        raw, smoothed = seen[t]
        np.testing.assert_array_equal(raw, truths[t])  # the fresh mask of this frame
        person = truths[t] > 0
        missing = float((smoothed[person] < 0.5).mean())
        extra = float((smoothed[~person] > 0.5).sum() / person.sum())
        assert missing < 0.02 and extra < 0.02, (t, missing, extra)
    # in between, the last segmented frame's mask is shown as it was smoothed
    np.testing.assert_array_equal(seen[4][1], seen[3][1])
