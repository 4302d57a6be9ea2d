"""A photo's painter gets only a band along the person's outline filled in (a review: with the whole
person filled in, a close-up selfie's background came out up to 22 L* lighter or darker, as the
style network's instance normalisation saw other statistics); the band keeps the rim along the
person away as well (docs/benchmark/steadiness.md, "The fill and a close-up's tone")."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from deepphoto.stream.person_fill import person_filled
from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings
from tests.test_person_fill import RedIsPerson


def close_up(h: int = 240, w: int = 320) -> tuple[np.ndarray, np.ndarray]:
    """A textured gradient background and a large dark red person (55% of the picture); its mask."""
    rng = np.random.default_rng(18)
    frame = np.zeros((h, w, 3), np.uint8)
    frame[..., 1] = np.linspace(120, 220, w, dtype=np.float32).astype(np.uint8)[None, :]
    frame[..., 0] = 200
    frame = np.clip(frame.astype(int) + rng.integers(-12, 13, (h, w, 1)), 0, 255).astype(np.uint8)
    person = np.zeros((h, w), np.float32)
    person[h // 8 :, w * 3 // 16 : w * 13 // 16] = 1.0
    frame[person > 0] = (20, 20, 140)
    return frame, person


class NormalisingPainter:
    """A stand-in style network: the picture's grey normalised by its own mean and spread (as an
    instance normalisation does), with strokes along its edges (as a real one strokes an outline).
    ``fill``: person_filled's options."""

    fills_person = True
    stylizer = "normalising"

    def __init__(self, **fill: object) -> None:
        self.fill = fill

    def __call__(self, frame: np.ndarray, person: np.ndarray | None = None) -> np.ndarray:
        src = frame if person is None else person_filled(frame, person, **self.fill)  # type: ignore[arg-type]
        grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY).astype(np.float32)
        tone = (grey - grey.mean()) / (grey.std() + 1.0) * 30.0 + 128.0
        edges = cv2.GaussianBlur(np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=5)), (0, 0), 4)
        return cv2.cvtColor(np.clip(tone + 0.5 * edges, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def painted(frame: np.ndarray, fill: bool, **options: object) -> np.ndarray:
    look = Look("norm", NormalisingPainter(**options))
    proc = FrameProcessor(RedIsPerson(), [look], "background", MaskSettings(smooth=0))
    proc.fill_person = fill  # as Pipeline.photo sets it
    return proc(frame)


def test_a_close_up_keeps_most_of_its_background_tone_and_loses_the_rim() -> None:
    frame, person = close_up()
    plain, band, whole = painted(frame, False), painted(frame, True), painted(frame, True, band=None)
    away = cv2.distanceTransform((person == 0).astype(np.uint8), cv2.DIST_L2, 5)
    far = away > 0.1 * np.hypot(*person.shape)
    assert far.sum() > 2000

    def moved(img: np.ndarray) -> float:
        return float(np.abs(img[far].astype(int) - plain[far]).mean())

    assert moved(band) < 0.35 * moved(whole), (moved(band), moved(whole))  # measured: 6 and 27 levels
    ring, further = (away >= 3) & (away <= 12), (away >= 30) & (away <= 40)

    def rim(img: np.ndarray) -> float:
        grey = img[..., 0].astype(np.float32)
        return abs(float(grey[ring].mean() - grey[further].mean()))

    assert rim(band) < 0.5 * rim(plain) and rim(band) < rim(whole) + 1.0, (rim(band), rim(whole), rim(plain))
    np.testing.assert_array_equal(band[60:220, 80:240], frame[60:220, 80:240])  # the person as they are


@pytest.mark.parametrize("scale", [2, 4])
def test_the_band_is_a_share_of_the_picture_whatever_its_size(scale: int) -> None:
    """The same photo larger (its mask still at most 1024 long, fill_mask) gets the same band, scaled."""
    frame, person = close_up()
    big, big_person = close_up(240 * scale, 320 * scale)
    small_mask = cv2.resize(big_person, (min(1024, 320 * scale), min(768, 240 * scale)), interpolation=cv2.INTER_AREA)

    def filled_share(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
        changed = np.abs(person_filled(img, mask).astype(int) - img).max(axis=-1) > 30
        return changed[mask_at(mask, img.shape) > 0.5]

    def mask_at(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)

    share, big_share = filled_share(frame, person).mean(), filled_share(big, small_mask).mean()
    assert 0.2 < share < 0.5, share  # a band, not the whole person
    assert abs(big_share - share) < 0.03, (share, big_share)
    row = np.abs(person_filled(big, small_mask).astype(int) - big)[150 * scale].max(axis=-1) > 30
    left = np.nonzero(row)[0]
    width = left[left < 160 * scale].max() + 1 - 60 * scale  # from the outline into the person
    assert abs(width - 0.05 * 400 * scale) < 0.34 * 0.05 * 400 * scale, width  # the band, fading over a third


def test_the_photo_painter_of_the_pipeline_fills_only_the_band(monkeypatch: pytest.MonkeyPatch) -> None:
    import deepphoto.stylizer
    from deepphoto.pipeline import Pipeline
    from deepphoto.settings import Settings

    seen: list[np.ndarray] = []

    class Recording:
        def __init__(self, style: str, *args: object, scale: float = 1.0, engine: object = None, **kw: object) -> None:
            self.scale, self.engine = scale, engine

        def painter(self, style: str) -> object:
            return lambda frame, weights=None: seen.append(frame) or frame

    monkeypatch.setattr(deepphoto.stylizer, "Stylizer", Recording)
    fake = SimpleNamespace(stylizer=None, threads=1, _exposure_weights=lambda: None)
    paint = Pipeline._painter(fake, Settings(style="wave", region="background"), "wave")  # type: ignore[arg-type]
    frame, person = close_up()
    paint(frame, cv2.resize(person, (160, 120), interpolation=cv2.INTER_AREA))
    given = seen[-1]
    assert given[40:, 62:78, 2].max() < 60 and given[32:48, 80:240, 2].max() < 60  # the band: no red left
    np.testing.assert_array_equal(given[70:, 95:225], frame[70:, 95:225])  # further in: the person
