"""Hunt 30 (narrow): a held picture box narrows when the picture inside its bars does (a film going
from 2:1 to 2.39:1, a 4:3 insert pillarboxed inside a letterboxed film). Held while everything
outside it was still black, the wider box was kept and the new black bars inside it were segmented
and painted a slab on every frame; a dark scene inside the bars still keeps its box."""

from __future__ import annotations

import numpy as np
from test_hunt29_clips import PAINT, padded, picture, run_clip
from test_hunt30_bars import coded, near
from test_hunt30_bars2 import colourful
from test_review29 import captioned

from deepphoto import picture_box as bars
from deepphoto.picture_box import picture_box

BAR_NARROW = getattr(bars, "BAR_NARROW", 5)  # (the processor's test runs on the code before it too)


def moving(inner: np.ndarray, frames: int, h: int, w: int) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """``inner`` panning, centred on black in an ``h`` x ``w`` frame, ``frames`` times."""
    return [padded(np.roll(inner, 4 * t, axis=1), h, w) for t in range(frames)]


def boxes(frames: list[np.ndarray]) -> list[tuple[int, int, int, int] | None]:
    track = bars.PictureBoxes()
    return [track(frame) for frame in frames]


def test_a_film_going_from_2_1_to_2_39_narrows_its_painted_picture() -> None:
    """Through the processor: once the 2.39:1 picture has held, the rows that became bars are left
    black as they came (they were painted a slab on every frame: rows 12-22 all painted) and the
    picture alone is segmented."""
    made = moving(colourful(156, 320, 3), 3, 180, 320) + moving(colourful(134, 320, 4), 10, 180, 320)
    frames = coded([frame for frame, _ in made], 28)
    top, bottom, left, right = made[-1][1]  # rows 23-157
    outs, segmenter = run_clip(frames, "background")
    for frame, out in list(zip(frames, outs))[3 + BAR_NARROW :]:
        assert np.array_equal(out[: top - 2], frame[: top - 2])  # (a row next to the picture: 4:2:0)
        assert np.array_equal(out[bottom + 2 :], frame[bottom + 2 :])
        assert not (out[: top - 2] == PAINT).all(axis=2).any()
        assert (out[top:bottom, left:right] == PAINT).all(axis=2).mean() > 0.4
    assert abs(segmenter.shapes[-1][0] - (bottom - top)) <= 4


def test_the_box_narrows_to_2_39_and_still_lets_go_at_a_cut() -> None:
    wide = moving(colourful(156, 320, 3), 3, 180, 320)
    scope = moving(colourful(134, 320, 4), BAR_NARROW + 2, 180, 320)
    full = [(colourful(180, 320, 5), None)] * 2
    made = wide + scope + full + scope
    found = boxes(coded([frame for frame, _ in made], 28))
    for at, (box, (_, truth)) in enumerate(zip(found, made)):
        if at < 3 + BAR_NARROW - 1:  # held a few frames before it narrows (one dark frame cannot)
            assert near(box, wide[0][1]), (at, box)
        else:
            assert box is None if truth is None else near(box, truth), (at, truth, box)


def test_a_4_3_insert_pillarboxed_inside_a_letterbox_narrows_the_box() -> None:
    film = moving(picture(160, 320, 1), 2, 180, 320)  # 2:1 in 16:9: rows 10-170
    insert = []
    for frame, _ in moving(picture(160, 214, 2), BAR_NARROW + 1, 180, 320):  # 4:3 inside it
        insert.append((frame, (10, 170, 53, 267)))
    made = film + insert
    for frames in ([frame for frame, _ in made], coded([frame for frame, _ in made], 28)):
        found = boxes(frames)
        assert near(found[1], (10, 170, 0, 320))
        assert near(found[-1], (10, 170, 53, 267)), found[-1]


def test_subtitles_in_the_held_bar_do_not_stop_it_narrowing() -> None:
    made = moving(colourful(156, 320, 3), 2, 200, 320) + moving(colourful(134, 320, 4), BAR_NARROW + 1, 200, 320)
    frames = [frame if at < 1 else captioned(frame, (0, 172)) for at, (frame, _) in enumerate(made)]
    assert int(frames[-1][180:].max()) == 255  # a subtitle in the old bottom bar, the box held
    found = boxes(frames)
    assert found[1] == made[0][1]
    assert near(found[-1], made[-1][1]), found[-1]


def test_a_dark_scene_inside_the_bars_does_not_narrow_the_box() -> None:
    """A dark scene's top and bottom rows, black but lifted a little (a night sky, a dark floor), or
    truly black for a frame or two (a flash cut to a dark frame), keep the box; one dark at the top
    only, as before."""
    rng = np.random.default_rng(7)
    made = moving(picture(156, 320, 1), 2, 180, 320)
    box = made[0][1]
    night = []
    for frame, _ in moving(picture(156, 320, 2), 12, 180, 320):
        frame = frame.copy()
        frame[box[0] : box[0] + 14] = frame[box[1] - 14 : box[1]] = rng.integers(0, 17, (14, 320, 3))
        night.append(frame)
    assert picture_box(night[0]) is not None  # found afresh, the night's dark rows would be bars
    assert all(found == box for found in boxes([frame for frame, _ in made] + night))
    flash = []
    for frame in night[: BAR_NARROW - 1]:
        frame = frame.copy()
        frame[box[0] : box[0] + 14] = frame[box[1] - 14 : box[1]] = 0  # truly black, a few frames
        flash.append(frame)
    found = boxes([frame for frame, _ in made] + flash + [frame for frame, _ in made])
    assert all(b == box for b in found), found
    top_only = made[0][0].copy()
    top_only[box[0] : box[0] + 20] = 0
    assert all(found == box for found in boxes([made[0][0]] + [top_only] * (BAR_NARROW + 2)))
