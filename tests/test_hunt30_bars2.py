"""Hunt 30 (bars2): black bars round a video's picture are found after H.264 though the picture's edge
is off the codec's grid (a 720p clip padded to 9:16 starts 437 rows down, a 1920x800 film in 1080
rows on row 140): the codec rings in the bar rows of the block that holds the edge."""

from __future__ import annotations

import cv2
import numpy as np
from test_hunt29_clips import PAINT, padded, picture, run_clip
from test_hunt30_bars import coded, near

from deepphoto.picture_box import picture_box


def dark(image: np.ndarray) -> np.ndarray:
    return cv2.convertScaleAbs(image, alpha=0.4)


def colourful(h: int, w: int, seed: int = 1) -> np.ndarray:
    """A picture of saturated colours (the codec's chroma rings furthest), a bright 'person' in the
    middle."""
    rng = np.random.default_rng(seed)
    blobs = rng.uniform(0, 255, (max(2, h // 12), max(2, w // 12), 3)).astype(np.uint8)
    out = cv2.resize(blobs, (w, h), interpolation=cv2.INTER_CUBIC)
    cv2.circle(out, (w // 2, h // 2), min(h, w) // 4, (240, 240, 240), -1)
    return out


def test_black_bars_are_found_after_h264_with_the_picture_off_the_codec_grid() -> None:
    """Letterbox and pillarbox, the picture on an odd and an even row (column) off the 16-pixel grid,
    lit and dark scenes: the bars were taken for picture in about half of such clips at crf 23 and
    nearly all at crf 32, and painted with it."""
    layouts = {
        "16:9 in 9:16, odd row": ((107, 192), 342, 192),  # top 117
        "16:9 in 9:16, even row": ((108, 192), 340, 192),  # top 116
        "scope in 16:9, odd row": ((134, 320), 180, 320),  # top 23
        "4:3 in 16:9, odd column": ((180, 241), 180, 320),  # left 39
        "9:16 in 16:9, odd column": ((180, 102), 180, 320),  # left 109
    }
    for crf in (23, 32):
        for name, (size, h, w) in layouts.items():
            made = [padded(colourful(*size, seed), h, w) for seed in (1, 2, 3)]
            made += [padded(dark(colourful(*size, seed)), h, w) for seed in (4, 5)]
            for (_, box), frame in zip(made, coded([frame for frame, _ in made], crf)):
                assert near(picture_box(frame), box), (crf, name, box, picture_box(frame))


def vignetted(h: int, w: int, seed: int) -> np.ndarray:
    """A portrait on a dark studio backdrop, vignetted: black at the top and bottom rows, lit
    gradually towards the middle."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    fall = np.clip(1.6 - np.hypot((y - h / 2) / (h / 2), (x - w / 2) / (w * 0.9)) * 1.45, 0, 1) ** 2
    lit = picture(h, w, seed).astype(np.float32) * fall[..., None]
    return np.clip(lit, 0, 255).astype(np.uint8)


def test_vignetted_and_dark_backdrop_portraits_are_not_bars_after_h264() -> None:
    """The codec's allowance is for a step at the picture's edge next to a truly black bar: a
    vignette's slope through the same rows, or a backdrop lifted to grey 20, is not taken for bars."""
    frame = vignetted(240, 180, 1)
    assert int(frame[0].max()) <= 20 and int(frame[-1].max()) <= 20  # black top and bottom rows
    assert picture_box(frame) is None
    for seen in (frame, cv2.convertScaleAbs(frame, alpha=1.8, beta=20)):
        for crf in (23, 32):
            assert picture_box(coded([seen], crf)[0]) is None, crf


def test_the_held_box_lets_go_at_a_cut_and_when_the_picture_widens() -> None:
    """Found through the codec's ringing, a box is still let go of when the picture widens (a film's
    scope scenes, then 2:1 ones) and at a cut to a full-frame picture."""
    scope = [padded(colourful(134, 320, seed), 180, 320) for seed in (1, 2)]  # 2.39:1, rows 23-157
    wide = [padded(colourful(156, 320, seed), 180, 320) for seed in (3, 4)]  # 2:1, rows 12-168
    full = [(colourful(180, 320, seed), None) for seed in (5, 6)]  # a cut to a full-frame picture
    made = scope + wide + full + scope
    box = None
    for (_, truth), frame in zip(made, coded([frame for frame, _ in made], 28)):
        box = picture_box(frame, box)
        assert box is None if truth is None else near(box, truth), (truth, box)


def test_a_coded_clip_padded_to_9_16_keeps_its_black_bars() -> None:
    """Through the processor: the bars of a coded clip are left as they came, the picture alone is
    painted and segmented (the bars were painted a slab and segmented with the picture)."""
    made = [padded(np.roll(colourful(107, 192), 3 * t, axis=1), 342, 192) for t in range(3)]
    frames = coded([frame for frame, _ in made], 28)
    top, bottom, left, right = made[0][1]
    outs, segmenter = run_clip(frames, "background")
    for frame, out in zip(frames, outs):  # (a row next to the picture shares its colour: 4:2:0)
        assert np.array_equal(out[: top - 2], frame[: top - 2])
        assert np.array_equal(out[bottom + 2 :], frame[bottom + 2 :])
        assert (out[top:bottom, left:right] == PAINT).all(axis=2).mean() > 0.5
    assert segmenter.shapes and all(abs(s[0] - (bottom - top)) <= 4 and s[1] == right - left for s in segmenter.shapes)
