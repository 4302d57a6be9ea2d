"""Hunt 31 (video pictures): what a styled video looks like, judged frame by frame."""

from __future__ import annotations

import numpy as np

from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings, painting_weight
from tests.test_hunt29_fades import BrightSegmenter, faded, normalising_painter, picture


def _run(frames: list[np.ndarray], smooth: float) -> list[np.ndarray]:
    processor = FrameProcessor(
        BrightSegmenter(), [Look("fake", normalising_painter())], "whole", MaskSettings(smooth=smooth)
    )
    try:
        return [processor(f) for f in frames]
    finally:
        processor.close()


def _crawl(outs: list[np.ndarray]) -> float:
    """Mean grey-level change from one output frame to the next, past the first few."""
    return float(np.mean([np.abs(a.astype(np.int16) - b).mean() for a, b in zip(outs[4:], outs[5:])]))


def _noisy(frame: np.ndarray, count: int, seed: int = 7) -> list[np.ndarray]:
    """``count`` frames of a still ``frame`` with a camera's sensor noise (about one grey level)."""
    rng = np.random.default_rng(seed)
    return [np.clip(frame + rng.normal(0, 1.0, frame.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def test_a_steady_dim_scene_keeps_its_painting_held() -> None:
    """A dim room at night (a webcam's, its brightest tenth about 30 grey levels: painted at about
    85%) was painted afresh on every frame, the painting hold being let go on any frame under full
    light: the whole painted background shimmered (a real clip: 3.0 grey levels of change from frame
    to frame against 0.5 for the same clip a little brighter, its source moving alike). Only a fade
    (the light changing) lets the painting go now; a steady dim scene is held as a lit one is."""
    dim = faded(picture(), 0.12)
    weight = painting_weight(dim)
    assert 0.3 < weight < 0.95  # painted at a share: the dim rule applies
    frames = _noisy(dim, 16)
    held, unheld = _crawl(_run(frames, 0.7)), _crawl(_run(frames, 0.0))
    assert unheld > 2.0  # the stand-in painter crawls with the noise, as StyleNet does
    assert held < 0.25 * unheld, (held, unheld)  # it was as unsteady as with --smooth 0
