"""Hunt 30 (bars): bars round a video's picture that are not black (white, grey, a brand's colour:
phone editors and exports pad with them) are found as black ones are, and kept as they are."""

from __future__ import annotations

import io

import av
import cv2
import numpy as np
from test_hunt29_clips import PAINT, picture, run_clip

from deepphoto.picture_box import picture_box

WHITE, GREY, ORANGE, TEAL = (255, 255, 255), (128, 128, 128), (40, 140, 240), (160, 128, 0)


def on_colour(inner: np.ndarray, h: int, w: int, colour: tuple[int, int, int]):
    """``inner`` centred on ``colour`` in an ``h`` x ``w`` frame, and its box (top, bottom, left, right)."""
    ih, iw = inner.shape[:2]
    top, left = (h - ih) // 2, (w - iw) // 2
    frame = np.full((h, w, 3), colour, np.uint8)
    frame[top : top + ih, left : left + iw] = inner
    return frame, (top, top + ih, left, left + iw)


def coded(frames: list[np.ndarray], crf: int = 30) -> list[np.ndarray]:
    """``frames`` through H.264 (4:2:0) and back, as a phone's export is."""
    h, w = frames[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def near(found: tuple[int, int, int, int] | None, box: tuple[int, int, int, int], by: int = 4) -> bool:
    return found is not None and max(abs(a - b) for a, b in zip(found, box)) <= by


def test_white_grey_and_coloured_bars_are_found_after_h264() -> None:
    """A 16:9 clip padded to 9:16 with white (or grey, or a brand's colour) bars: the bars were taken
    as picture, painted a slab, and the picture squashed with them into the network's square. The
    picture starts on an odd row (a 720p clip padded to 9:16 starts 437 rows down): H.264 rings in
    the bars next to it."""
    for colour in (WHITE, GREY, ORANGE, TEAL):
        letterbox = [on_colour(picture(107, 192, seed), 342, 192, colour) for seed in (1, 2)]
        pillarbox = [on_colour(picture(160, 161, seed), 160, 256, colour) for seed in (3, 4)]
        for made in (letterbox, pillarbox):
            for (_, box), frame in zip(made, coded([frame for frame, _ in made])):
                assert near(picture_box(frame), box), (colour, box)


def bright_person(h: int, w: int, backdrop: np.ndarray) -> np.ndarray:
    """A person (a dark head and shoulders) centred on ``backdrop``, as far from each edge."""
    out = backdrop.copy()
    cv2.ellipse(out, (w // 2, h // 3), (w // 8, h // 7), 0, 0, 360, (60, 70, 90), -1)  # head
    cv2.ellipse(out, (w // 2, h - h // 6), (w // 3, h // 4), 0, 0, 360, (90, 60, 40), -1)  # shoulders
    return out


def test_flat_walls_skies_and_backdrops_are_not_bars() -> None:
    rng = np.random.default_rng(5)
    h, w = 240, 320
    white = np.full((h, w, 3), 255, np.uint8)
    paper = np.repeat(np.linspace(150, 175, w)[None, :, None], 3, axis=2).repeat(h, axis=0).astype(np.uint8)
    frames = {
        # a person on a blown-out white seamless: white at every edge, as far from each
        "white backdrop": bright_person(h, w, white),
        # the same at the top and bottom only: the person reaches the sides
        "white backdrop, wide person": cv2.rectangle(bright_person(h, w, white), (0, 110), (w, 200), (90, 60, 40), -1),
        # a grey seamless paper, lit a little unevenly (a gentle fall-off across it)
        "grey paper": bright_person(h, w, paper),
    }
    # a landscape under a sky blown out at the top, its light falling off away from the sun, and
    # snow blown out as deep at the bottom: each leaves 255 at a different row across the frame
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    sky = 255 - np.clip(y - 30 - 40 * x / w, 0, None) * 3
    snow = 255 - np.clip(h - 1 - y - 30 - 40 * (w - x) / w, 0, None) * 2
    land = picture(h, w, 6).astype(np.float32)
    scene = np.where((y < 100)[..., None], sky[..., None], np.where((y > 160)[..., None], snow[..., None], land))
    frames["sky and snow"] = np.clip(scene + rng.normal(0, 1.5, scene.shape), 0, 255).astype(np.uint8)
    # a room between a flat white ceiling and a flat white floor, its edges not straight
    room = white.copy()
    for x in range(w):
        top = 50 + int(12 * np.sin(x / 17))
        room[top : h - top, x] = picture(h, w, 7)[top : h - top, x]
    frames["ceiling and floor"] = room
    # a title on white: lettering is not a picture inside bars
    card = white.copy()
    cv2.putText(card, "THE END", (90, 130), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2, cv2.LINE_AA)
    frames["title card"] = card
    # a white wall with the camera's noise, a framed picture on it hung off-centre
    wall = np.clip(235 + rng.normal(0, 3, (h, w, 3)), 0, 255).astype(np.uint8)
    wall[40:160, 30:230] = picture(120, 200, 8)
    frames["picture on a wall"] = wall
    for name, frame in frames.items():
        for seen in (frame, coded([frame])[0]):
            assert picture_box(seen) is None, name


def test_white_bars_of_a_video_keep_their_colour() -> None:
    """The picture inside white bars is segmented and painted on its own; the bars stay white (they
    were painted a flat slate-blue slab)."""
    made = [on_colour(np.roll(picture(107, 192), 3 * t, axis=1), 342, 192, WHITE) for t in range(4)]
    frames = coded([frame for frame, _ in made], crf=23)
    top, bottom, left, right = made[0][1]
    outs, segmenter = run_clip(frames, "background")
    assert segmenter.shapes
    for frame, out in zip(frames, outs):
        assert np.array_equal(out[:top], frame[:top]) and np.array_equal(out[bottom:], frame[bottom:])
        assert int(out[:top].min()) > 200  # still white
        inside = out[top + 4 : bottom - 4, left:right]
        assert (inside == PAINT).all(axis=2).mean() > 0.5  # the picture is still painted
    for shape in segmenter.shapes:  # the picture alone (but for a row or two the codec blurred)
        assert abs(shape[0] - (bottom - top)) <= 4 and shape[1] == right - left


def test_a_bright_scene_inside_white_bars_keeps_the_box() -> None:
    """The picture's own top goes white (a sky blown out) while the bars stay: the box is kept."""
    frame, box = on_colour(picture(107, 192), 342, 192, WHITE)
    assert picture_box(frame) == box
    bright = frame.copy()
    bright[box[0] : box[0] + 30] = 255
    assert picture_box(bright) is None  # found afresh it is not the picture's edge any more
    assert picture_box(bright, box) == box
    captioned = frame.copy()  # a black subtitle in the bottom bar
    cv2.putText(captioned, "I am here", (30, box[1] + 30), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    assert picture_box(captioned, box) == box
