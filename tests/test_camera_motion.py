"""The camera's motion between two frames (a similarity from tracked corners) and the painting
hold that moves its painting with it."""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.stream.camera_motion import camera_motion, scaled_motion, warp
from deepphoto.stream.steady_painting import PaintingHold


def room(h: int = 120, w: int = 160, seed: int = 0, cell: int = 8) -> np.ndarray:
    """A textured still room, grey 0-1, its features about ``cell`` pixels across."""
    rng = np.random.default_rng(seed)
    small = rng.random((h // cell, w // cell)).astype(np.float32)
    return cv2.GaussianBlur(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), 1.0)


def moved(image: np.ndarray, dx: float, dy: float, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, scale)
    m[:, 2] += (dx, dy)
    return warp(image, m), m


def test_a_shift_and_a_zoom_are_found() -> None:
    a = room()
    for dx, dy, scale in ((1.5, -0.7, 1.0), (0.0, 0.0, 1.02), (2.0, 1.0, 0.99)):
        b, truth = moved(a, dx, dy, scale)
        found = camera_motion(a, b)
        assert found is not None
        np.testing.assert_allclose(found, truth, atol=0.08)


def test_nothing_moved_or_only_a_person_moved_is_no_camera_motion() -> None:
    a = room()
    assert camera_motion(a, a.copy()) is None
    b = a.copy()
    b[30:90, 60:100] = np.roll(a[30:90, 60:100], 4, axis=1)  # a person moving in a still room
    assert camera_motion(a, b) is None
    flat = np.full((120, 160), 0.4, np.float32)
    assert camera_motion(flat, flat) is None  # nothing to track


def test_scaled_motion_maps_pixel_centres() -> None:
    shift = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # one small pixel to the right
    big = scaled_motion(shift, (160, 120), (640, 480))
    np.testing.assert_allclose(big, [[1, 0, 4], [0, 1, 0]], atol=1e-9)
    zoom = cv2.getRotationMatrix2D((79.5, 59.5), 0.0, 1.1)  # about the small copy's centre
    big = scaled_motion(zoom, (160, 120), (640, 480))
    centre = big @ np.array([319.5, 239.5, 1.0])
    np.testing.assert_allclose(centre, [319.5, 239.5], atol=1e-6)


def test_the_held_painting_moves_with_a_panning_camera() -> None:
    """A pan: the picture slides 1 px a frame; a painter that draws strokes at fixed screen places
    redraws them every frame. Held with the camera followed, the strokes slide with the picture."""
    h, w = 240, 320
    rng = np.random.default_rng(3)
    scene = (room(h, w + 80, seed=4, cell=24) * 255).astype(np.uint8)
    strokes = rng.integers(-40, 41, (h, w, 3))
    frames, paintings = [], []
    for t in range(12):
        frame = cv2.cvtColor(scene[:, 40 + t : 40 + t + w].copy(), cv2.COLOR_GRAY2BGR)
        frames.append(frame)
        paintings.append(np.clip(frame.astype(int) + strokes * (t % 2 * 2 - 1), 0, 255).astype(np.uint8))

    def run(follow: bool) -> list[np.ndarray]:
        hold = PaintingHold(follow_camera=follow, deadband=0.0)
        return [hold(f, p).astype(np.float32) for f, p in zip(frames, paintings)]

    def slid_change(outs: list[np.ndarray]) -> float:
        """How much each output differs from the one before slid with the picture (inner part)."""
        return float(
            np.mean([np.abs(outs[t][20:-20, 20:-40] - outs[t - 1][20:-20, 21:-39]).mean() for t in range(3, 12)])
        )

    follow, plain = slid_change(run(True)), slid_change(run(False))
    assert follow < 0.5 * plain, (follow, plain)


def test_the_held_mask_rides_along_with_a_panning_camera() -> None:
    """A pan across a textured room with a person in it, and a network that loses the person's
    upper body every other frame. With the camera followed the held mask slides with the person
    and holds through the flips (the picture under it did not change, relative to the scene);
    without it the pan passes every textured pixel as moved and each flip comes through."""
    from deepphoto.stream.smoothing import MaskSmoother

    h, w = 120, 160
    scene = room(h, w + 40, seed=5)
    person = np.zeros((h, w + 40), np.float32)
    person[20:110, 70:130] = 1.0
    swing = {}
    for follow in (False, True):
        smoother = MaskSmoother(0.7, follow_camera=follow)
        errors = []
        for t in range(30):  # the camera pans one pixel a frame
            grey, truth = scene[:, t : t + w].copy(), person[:, t : t + w].copy()
            prob = truth.copy()
            if t % 2:
                prob[20:60, 70 - t : 130 - t] = 0.0
            shown = smoother(prob, None if t == 0 else grey)
            if t >= 10:
                inside = truth[25:55] > 0.5
                errors.append(float(np.abs(shown[25:55] - truth[25:55])[inside].mean()))
        swing[follow] = max(errors) - min(errors)  # how far the upper body goes back and forth
    assert swing[False] > 0.3  # the flips come through
    assert swing[True] < 0.02  # held, and carried along with the pan
