"""The painter of a background-only look gets the person filled in with the background around them
(a picture review: the style network's strokes along the person's outline left a rim of paint)."""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.segmenters.base import PersonSegmenter
from deepphoto.stream.person_fill import person_filled
from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings


def scene(h: int = 240, w: int = 320) -> tuple[np.ndarray, np.ndarray]:
    """A bright left-to-right gradient with a dark red person block in the middle; its mask."""
    frame = np.zeros((h, w, 3), np.uint8)
    frame[..., 1] = np.linspace(120, 220, w, dtype=np.float32).astype(np.uint8)[None, :]
    frame[..., 0] = 200
    person = np.zeros((h, w), np.float32)
    person[60:220, 120:200] = 1.0
    frame[person > 0] = (20, 20, 140)
    return frame, person


def test_a_band_along_the_outline_is_filled_with_the_colours_around_them_and_nothing_else_changes() -> None:
    """The band is 5% of the 400-pixel diagonal, 20 pixels, faded into the person over 7 more."""
    frame, person = scene()
    low = cv2.resize(person, (88, 66), interpolation=cv2.INTER_AREA)  # a network's low-resolution mask
    filled = person_filled(frame, low)
    sides = filled[75:205, 123:137], filled[75:205, 183:197]  # within the band on the left and right
    band = np.concatenate([b.reshape(-1, 3) for b in (*sides, filled[63:77, 135:185], filled[203:217, 135:185])])
    assert band[:, 2].astype(int).max() < 60 and band[:, 0].min() > 150  # no red left; the background's blue
    around = frame[80:200, 100:115, 1].mean(), frame[80:200, 205:220, 1].mean()
    assert around[0] - 10 < sides[0][..., 1].mean() < around[0] + 10  # the gradient's green carried in
    assert around[1] - 10 < sides[1][..., 1].mean() < around[1] + 10
    np.testing.assert_array_equal(filled[90:190, 150:170], frame[90:190, 150:170])  # further in: the person
    np.testing.assert_array_equal(filled[:, :100], frame[:, :100])  # away from the person: untouched
    np.testing.assert_array_equal(filled[:, 220:], frame[:, 220:])
    whole = person_filled(frame, low, band=None)  # the whole person filled in
    assert whole[80:200, 135:185, 2].max() < 60


def test_no_person_or_only_a_person_leaves_the_frame_as_it_is() -> None:
    frame, _ = scene()
    assert person_filled(frame, np.zeros((88, 88), np.float32)) is frame
    assert person_filled(frame, np.ones((88, 88), np.float32)) is frame


class RedIsPerson(PersonSegmenter):
    name = "red"

    @classmethod
    def open(cls, options: object) -> RedIsPerson:
        return cls()

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return cv2.resize(frame, (88, 88), interpolation=cv2.INTER_AREA)

    def infer(self, x: np.ndarray) -> np.ndarray:
        return ((x[..., 2].astype(np.int16) - x[..., 1]) > 60).astype(np.float32)


class EdgePainter:
    """A stand-in style network that paints edges (as a real one strokes an outline), and records
    what it was given."""

    fills_person = True
    stylizer = "edges"

    def __init__(self) -> None:
        self.seen: list[tuple[np.ndarray, np.ndarray | None]] = []

    def __call__(self, frame: np.ndarray, person: np.ndarray | None = None) -> np.ndarray:
        self.seen.append((frame, person))
        src = frame if person is None else person_filled(frame, person)
        grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY).astype(np.float32)
        edges = cv2.GaussianBlur(np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=5)), (0, 0), 4)
        return cv2.cvtColor(np.clip(edges, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def test_a_photo_is_painted_without_a_rim_along_the_person() -> None:
    frame, person = scene()
    painter = EdgePainter()
    settings = MaskSettings(smooth=0.0)
    filled = FrameProcessor(RedIsPerson(), [Look("edges", painter)], "background", settings)
    filled.fill_person = True  # as Pipeline.photo sets it
    out = filled(frame)
    given = painter.seen[0][1]  # segmented first, then painted with the mask it is composited with
    fresh = FrameProcessor(RedIsPerson(), [Look("edges", EdgePainter())], "background", settings)
    np.testing.assert_allclose(given, fresh.person_alpha(frame))  # (a review: a person the refined
    # mask dropped had been filled from the network's own mask, and painted over)
    painter.fills_person = False
    plain = FrameProcessor(RedIsPerson(), [Look("edges", painter)], "background", settings)(frame)
    dist = cv2.distanceTransform((person == 0).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (dist >= 3) & (dist <= 12)
    assert plain[ring].mean() > 1.6 * out[ring].mean()  # most of the outline's strokes are gone from the ring
    np.testing.assert_array_equal(out[75:205, 135:185], frame[75:205, 135:185])  # the person as they are


def test_a_stream_is_painted_without_the_fill_and_a_photo_of_the_person_region_too() -> None:
    """A stream's fill followed the mask's flips (the painted background flickered more on 10 of
    60 clip pairs): only photos fill."""
    frame, _ = scene()
    painter = EdgePainter()
    proc = FrameProcessor(RedIsPerson(), [Look("edges", painter)], "background", MaskSettings())
    for _ in range(3):
        proc(frame)
    assert all(person is None for _, person in painter.seen)
    proc.fill_person, proc.region = True, "person"  # a photo whose person is painted: nothing to fill
    proc(frame)
    assert painter.seen[-1][1] is None


def test_the_fill_is_quick_on_thin_and_large_pictures_and_keeps_the_threshold() -> None:
    """Its working copy was sized by the short side: a 300x1 strip took a minute."""
    import time

    for h, w in ((1, 300), (1, 4000), (20, 1920), (3000, 4000)):
        frame = np.full((h, w, 3), 200, np.uint8)
        person = np.zeros((max(1, h // 4), max(1, w // 4)), np.float32)
        person[:, person.shape[1] // 3 : person.shape[1] // 2] = 0.7
        start = time.perf_counter()
        out = person_filled(frame, person)
        assert time.perf_counter() - start < 2.0, (h, w)
        assert out.shape == frame.shape
    frame, person = scene()
    assert person_filled(frame, person * 0.6, threshold=0.7) is frame  # under the threshold: no person


def test_the_band_has_no_steps_and_a_large_persons_inside_is_left_as_it_is() -> None:
    """The fill's widths were switched pixel by pixel where the nearest background was far: steps of
    up to 90 levels inside the fill (a review), which the painter strokes like any outline. Only a
    band of the person is filled now (a whole close-up filled in moved the painted background's
    tone), faded into the person as they are: no new outline inside the person either."""
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:40] = (230, 40, 20)  # a blue sky over a red wall on the left and a green one on the right
    frame[40:, :320] = (20, 40, 220)
    frame[40:, 320:] = (30, 200, 40)
    person = np.zeros((480, 640), np.float32)
    person[40:, 30:610] = 1.0  # nearly the whole picture, in grey
    frame[person > 0] = (90, 90, 90)
    filled = person_filled(frame, person).astype(int)  # the band: 5% of the 800-pixel diagonal, 40 px

    def steps(part: np.ndarray) -> int:
        return int(max(np.abs(np.diff(part, axis=0)).max(), np.abs(np.diff(part, axis=1)).max()))

    assert steps(filled[41:79, 71:569]) <= 6 and steps(filled[81:479, 31:69]) <= 6  # the band is smooth
    assert steps(filled[41:479, 31:609]) <= 15  # and fades into the person: a band's edge would step ~120
    np.testing.assert_array_equal(filled[100:, 100:540], frame[100:, 100:540])  # further in: the person
    assert (np.abs(filled[41:79, 71:569] - 90).max(axis=-1) > 40).all()  # the band: no grey left there
