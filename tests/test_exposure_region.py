"""``--keep-exposure`` measures the light of the pixels that are painted and shown: the background
for ``--region background``, the person for ``--region person``, the whole frame for ``whole``
(docs/benchmark/exposure.md, "Measured on the region"). A large bright person must not brighten a
dim painted background in a stream (the last frame's mask); a photo keeps the whole picture's measure.

No network runs here: a stand-in segmenter takes the bright pixels as the person and a stand-in
style network paints every frame mid-grey (as instance normalisation does, whatever the light).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import deepphoto.pipeline as pipeline_module
import deepphoto.stylizer as stylizer_module
from deepphoto.segmenters.base import PersonSegmenter
from deepphoto.stylizer import MIN_SHARE, exposure_stops, keep_exposure, region_weights

H, W = 180, 240
PERSON = 96  # columns: 40% of the frame
BRIGHT = 200  # grey levels above this are the person (the stand-in segmenter's rule)


def _textured(level: int, shape: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.normal(0, 20, (*shape, 3)).astype(np.float32), (9, 9), 0)
    return np.clip(level + texture, 0, 255).astype(np.uint8)


def scene(person: int = 0) -> np.ndarray:
    """A dim room (mean L* about 21), with a bright person (L* about 93) over its last ``person`` columns."""
    frame = _textured(50, (H, W), 0)
    if person:
        frame[:, W - person :] = np.clip(_textured(240, (H, W), 1)[:, W - person :], BRIGHT + 5, 255)
    return frame


def person_mask(person: int) -> np.ndarray:
    mask = np.zeros((H, W), np.float32)
    if person:
        mask[:, W - person :] = 1.0
    return mask


class BrightIsPerson(PersonSegmenter):
    name = "bright"

    @classmethod
    def open(cls, options: object) -> BrightIsPerson:
        return cls()

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (64, 48), interpolation=cv2.INTER_AREA)

    def infer(self, x: np.ndarray) -> np.ndarray:
        return (x > BRIGHT).astype(np.float32)


class GreyEngine:
    """Stands in for StyleNet: paints every frame mid-grey, whatever its light."""

    device = "cpu"

    def run(self, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
        return np.full((1, *rgb.shape[1:]), 0.5, np.float32)


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pipeline built meanwhile segments with ``BrightIsPerson`` and paints with ``GreyEngine``."""
    monkeypatch.setattr(pipeline_module, "open_segmenter", lambda name, options: BrightIsPerson())
    monkeypatch.setattr(stylizer_module, "make_style_engine", lambda *args, **kwargs: GreyEngine())


def _pipe(region: str, strength: float = 1.0, smooth: float = 0.0) -> pipeline_module.Pipeline:
    from deepphoto import Settings

    settings = Settings(style="wave", region=region, keep_exposure=strength, smooth=smooth, style_scale=1.0)
    return pipeline_module.Pipeline(settings)


def _level(image: np.ndarray, cols: slice) -> float:
    return float(image[20:-20, cols].mean())


BACKGROUND = slice(10, W - PERSON - 20)  # away from the person's outline
ON_PERSON = slice(W - PERSON + 20, W - 10)


# ------------------------------------------------------------------ the measurement


def test_the_background_is_measured_without_the_bright_person() -> None:
    empty, busy = scene(), scene(PERSON)
    whole = exposure_stops(empty)
    assert whole < -0.5  # a dim room: the painting is darkened
    assert exposure_stops(busy) > whole + 0.5  # the bug: the whole frame's light follows the person
    background = region_weights(person_mask(PERSON), "background")
    assert abs(exposure_stops(busy, weights=background) - whole) < 0.05
    person = region_weights(person_mask(PERSON), "person")
    alone = np.ascontiguousarray(busy[:, W - PERSON :])
    assert abs(exposure_stops(busy, weights=person) - exposure_stops(alone)) < 0.05


def test_weights_of_the_whole_frame_or_none_change_nothing() -> None:
    busy, painting = scene(PERSON), np.full((H, W, 3), 128, np.uint8)
    assert region_weights(person_mask(PERSON), "whole") is None and region_weights(None, "background") is None
    plain = keep_exposure(busy, painting, 1.0)
    assert np.array_equal(keep_exposure(busy, painting, 1.0, weights=None), plain)
    assert np.array_equal(keep_exposure(busy, painting, 1.0, weights=np.ones((H, W), np.float32)), plain)
    assert np.array_equal(keep_exposure(busy, painting, 1.0, weights=np.zeros((H, W), np.float32)), plain)
    assert keep_exposure(busy, painting, 0.0, weights=person_mask(PERSON)) is painting  # strength 0: as it was


def test_a_tiny_region_falls_back_to_the_whole_frame() -> None:
    busy = scene(PERSON)
    whole = exposure_stops(busy)
    few = np.zeros((H, W), np.float32)
    few[:4, :40] = 1.0  # 0.4% of the frame, all of it dim room
    share = float(few.mean())
    assert share < MIN_SHARE / 10
    # blended towards the whole frame: at most a tenth of the way towards those few pixels
    alone = exposure_stops(np.ascontiguousarray(busy[:4, :40]))
    got = exposure_stops(busy, weights=few)
    assert abs(got - whole) <= 0.12 * abs(alone - whole)
    enough = np.zeros((H, W), np.float32)
    enough[:, : round(W * 2 * MIN_SHARE)] = 1.0  # twice the threshold: trusted
    alone = exposure_stops(np.ascontiguousarray(busy[:, : round(W * 2 * MIN_SHARE)]))
    assert abs(exposure_stops(busy, weights=enough) - alone) < 0.05


# ------------------------------------------------------------------ a stream


def _walk_in(frames: int = 16) -> list[np.ndarray]:
    """A bright person walking into a dim room from the right, 12 columns a frame, up to 40% of it."""
    return [scene(min(PERSON, max(0, 12 * (t - 3)))) for t in range(frames)]


@pytest.mark.parametrize("smooth", [0.0, 0.7])
def test_a_bright_person_walking_in_leaves_a_dim_painted_background_as_it_was(stand_ins, smooth: float) -> None:
    clip = _walk_in()
    with _pipe("background", smooth=smooth) as pipe:
        alone = [_level(pipe(scene()), BACKGROUND) for _ in clip]
        pipe.reset()
        walked = [_level(pipe(f), BACKGROUND) for f in clip]
        assert alone[0] < 100  # the grey painting was darkened for the dim room
        assert max(abs(a - b) for a, b in zip(alone, walked)) <= 2.0, (alone, walked)


def test_a_stream_uses_the_last_frames_mask_and_the_whole_frame_first(stand_ins) -> None:
    busy = scene(PERSON)
    with _pipe("background") as pipe:
        first = _level(pipe(busy), BACKGROUND)  # no mask yet: the whole frame (as before)
        second = _level(pipe(busy), BACKGROUND)  # the first frame's mask: the room alone
        painting = np.full((H, W, 3), 128, np.uint8)
        assert abs(first - _level(keep_exposure(busy, painting, 1.0), BACKGROUND)) <= 1
        assert abs(second - _level(keep_exposure(scene(), painting, 1.0), BACKGROUND)) <= 1.5


def test_strength_zero_paints_a_stream_as_before(stand_ins) -> None:
    clip = _walk_in(8)
    with _pipe("background", strength=0.0) as pipe:
        out = [pipe(f) for f in clip]
    assert all(np.array_equal(o[:, BACKGROUND], np.full_like(o[:, BACKGROUND], 128)) for o in out)


# ------------------------------------------------------------------ photos


@pytest.mark.parametrize("region", ["background", "person"])
def test_a_photo_keeps_the_whole_picture_measure(stand_ins, region: str) -> None:
    """A photo's light is measured on the whole picture, as the correction was calibrated: on the
    exposure set the region's measure painted dim photos' backgrounds 1.2-3.2 L* further off
    (docs/benchmark/exposure.md, "Measured on the region"). A stream just before (which remembers
    its masks) does not change that."""
    busy = scene(PERSON)
    painting = np.full((H, W, 3), 128, np.uint8)
    cols = BACKGROUND if region == "background" else ON_PERSON
    room = _level(keep_exposure(scene(), painting, 1.0), cols)  # the region's measure, on the background
    person = _level(keep_exposure(np.ascontiguousarray(busy[:, W - PERSON :]), painting, 1.0), cols)
    with _pipe(region) as pipe:
        fresh = pipe.photo(busy)
        for _ in range(3):
            pipe(busy)  # a stream first: its masks are remembered
        out = pipe.photo(busy)
        assert pipe.person_share is not None and pipe.person_share > 0.3
    assert np.array_equal(out, fresh)
    region_level = room if region == "background" else person
    assert abs(_level(out, cols) - region_level) > 10, (_level(out, cols), region_level)
