"""Hunt 28, pictures: what a picture review of `edit` and `run` outputs showed wrong.

- The background blur (``--effect blur --region background``) blurred the whole frame, the person
  too, so the person's colours spread out over the background beside them: a glow round a light
  face on a dark night background, a dark shadow round a dark figure in a bright arch. It is now a
  blur of the background alone (a normalised blur), in a photo and in a stream.
- A photo's mask was refined by a guided filter guided by the grey picture, which cannot tell a
  light face from a light sky beside dark hair: it cut a hole in the face of the middle of three
  men on a lake (the lake painted over his forehead, the replaced background seen through it) and
  cut a child's thin legs away. A photo's mask is now refined with its colours as the guide.
- ``Pipeline.mask(photo=True)`` (the Studio's mask view) smoothed the photo's mask with the photo
  asked before: a dark photo's mask showed the person of the photo before it. It is now the
  photo's own, as ``photo`` composites it.
"""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.stream.effects import make_effect
from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings

W, H = 160, 120


class FixedSegmenter:
    """A stand-in network: the given probabilities, one per call (the last kept), at a small size."""

    def __init__(self, *probs: np.ndarray) -> None:
        self.probs = list(probs)

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.probs.pop(0) if len(self.probs) > 1 else self.probs[0]


def _disc(radius: int, size: tuple[int, int] = (W, H)) -> np.ndarray:
    disc = np.zeros(size[::-1], np.float32)
    cv2.circle(disc, (size[0] // 2, size[1] // 2), radius, 1.0, -1)
    return disc


def _glow(out: np.ndarray, disc: np.ndarray) -> float:
    """The brightest background pixel 6 to 20 pixels out from the disc (the frame's is 0)."""
    outside = cv2.distanceTransform((disc == 0).astype(np.uint8), cv2.DIST_L2, 3)
    ring = (outside > 6) & (outside < 20)
    return float(out[ring].max())


def test_background_blur_spreads_no_glow_of_the_person_onto_the_background() -> None:
    """A bright person on a black background: the blurred background next to them stays black, in
    a stream and in a photo (before: 23 levels 6 to 20 pixels out, from 0)."""
    disc = _disc(30)
    frame = np.zeros((H, W, 3), np.uint8)
    frame[disc > 0] = 230
    low = cv2.resize(disc, (40, 30), interpolation=cv2.INTER_AREA)
    for photo in (False, True):
        processor = FrameProcessor(FixedSegmenter(low), [Look("blur", make_effect("blur"))], "background")
        try:
            if photo:
                processor.smoother.smooth = 0.0
                with processor.photo_mode():
                    out = processor(frame)
            else:
                out = processor(frame)
        finally:
            processor.close()
        assert _glow(out, disc) < 8, photo
        assert out[disc > 0].mean() > 220  # the person shown as they are


def test_background_blur_without_a_person_is_the_plain_blur() -> None:
    """No person (or a person everywhere): the blur is the frame's blur, as before."""
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (H, W, 3), dtype=np.uint8), (0, 0), 2)
    blur = make_effect("blur")
    plain = blur(frame)
    assert np.array_equal(blur(frame, np.zeros((H, W), np.float32)), plain)
    assert np.array_equal(blur(frame, np.ones((H, W), np.float32)), plain)


def _face_on_sky() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A head before a blue sky: dark hair above, a dark beard and coat below, and across it a light
    face (skin) of the sky's grey, touching the sky at both sides (a head in profile): (frame, the
    network's probability, the face's inside)."""
    frame = np.empty((H, W, 3), np.uint8)
    frame[:] = (230, 150, 60)  # sky, grey 132
    person = np.zeros((H, W), np.uint8)
    cv2.ellipse(person, (W // 2, 48), (12, 16), 0, 0, 360, 1, -1)  # the head
    cv2.rectangle(person, (W // 2 - 40, 60), (W // 2 + 40, H), 1, -1)  # the shoulders
    frame[person > 0] = (25, 25, 30)  # dark hair, beard and coat
    face = person.copy()
    face[:40], face[54:] = 0, 0
    frame[face > 0] = (100, 125, 170)  # skin, grey 135: next to the sky's
    low = cv2.resize(cv2.GaussianBlur(person.astype(np.float32), (0, 0), 1), (80, 60), interpolation=cv2.INTER_AREA)
    inside = cv2.erode(face, np.ones((5, 5), np.uint8)) > 0
    return frame, low, inside


def test_a_photo_mask_has_no_hole_in_a_light_face_before_a_light_sky() -> None:
    """The face (0.95 person to the network) is person all through (before: alpha down to 0.32)."""
    frame, low, inside = _face_on_sky()
    processor = FrameProcessor(FixedSegmenter(low), [Look("grey", make_effect("grey"))], "background", MaskSettings())
    try:
        processor.smoother.smooth = 0.0
        with processor.photo_mode():
            alpha = processor.person_alpha(frame)
    finally:
        processor.close()
    assert float(alpha[inside].min()) > 0.9


def test_the_colour_guided_filter_is_the_grey_one_on_a_grey_picture() -> None:
    """On a grey picture the colour guide says what the grey one says (a flat one exactly)."""
    from deepphoto.stream.refine import colour_guided_filter, guided_filter

    rng = np.random.default_rng(1)
    prob = cv2.GaussianBlur(rng.random((H, W), dtype=np.float32), (0, 0), 4)
    flat = np.full((H, W, 3), 128, np.uint8)
    assert np.abs(colour_guided_filter(flat, prob) - guided_filter(flat, prob)).max() < 1e-5
    for h, w in ((1, 1), (1, 9), (9, 1), (3, 5)):  # tiny pictures keep their shape
        tiny = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        assert colour_guided_filter(tiny, rng.random((h, w), dtype=np.float32)).shape == (h, w)


def test_a_photo_mask_holds_nothing_of_the_photo_asked_before() -> None:
    """Two photos of one still, dark scene: the first with a person, the second without. The
    second's mask is its own (before: the first one's person, held by the smoother). The second
    differs by a grey level: the same pixels asked again are the same photo, whose mask is the one
    remembered (hunt 32's mask contract)."""
    from deepphoto import Pipeline, Settings

    frame = np.full((H, W, 3), 12, np.uint8)
    person, nobody = cv2.resize(_disc(40), (40, 30)), np.zeros((30, 40), np.float32)
    with Pipeline(Settings(effect="grey", threads=1), segmenter=FixedSegmenter(person, nobody)) as pipe:  # type: ignore[arg-type]
        first = pipe.mask(frame, photo=True)
        second = pipe.mask(frame + 1, photo=True)
    assert float(first.max()) > 0.9
    assert float(second.max()) < 0.1
