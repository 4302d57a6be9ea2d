"""The painting given the photo's exposure back (``stylizer.keep_exposure``; docs/benchmark/exposure.md)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deepphoto.errors import DeepPhotoError
from deepphoto.models.shipped import SHIPPED
from deepphoto.stylizer import Stylizer, exposure_curve, exposure_stops, keep_exposure, mean_lightness

shipped = pytest.mark.skipif(not SHIPPED["stylenet"].exists(), reason="no style network shipped in this checkout")


def _photo(level: int, shape: tuple[int, int] = (120, 160), seed: int = 0) -> np.ndarray:
    """A textured photo whose grey levels centre on ``level``."""
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.normal(0, 25, (*shape, 3)).astype(np.float32), (9, 9), 0)
    return np.clip(level + texture, 0, 255).astype(np.uint8)


def _painting(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)


def test_a_normally_exposed_photo_leaves_the_painting_as_it_is() -> None:
    painting = _painting()
    for level in (100, 119, 140):  # mean L* about 42, 50, 57: within the band
        photo = _photo(level)
        assert exposure_stops(photo) == 0.0
        assert np.array_equal(keep_exposure(photo, painting, 1.0), painting)


def test_strength_zero_is_the_painting() -> None:
    painting = _painting()
    assert np.array_equal(keep_exposure(_photo(40), painting, 0.0), painting)


def test_a_dim_photo_darkens_the_painting_and_a_bright_one_lightens_it() -> None:
    painting = _painting()
    base = mean_lightness(painting)
    dim, bright = _photo(50), _photo(215)  # mean L* about 21 and 86
    assert exposure_stops(dim) < -1 and exposure_stops(bright) > 0.5
    darker, lighter = keep_exposure(dim, painting, 1.0), keep_exposure(bright, painting, 1.0)
    assert mean_lightness(darker) < base - 15
    assert mean_lightness(lighter) > base + 8
    half = keep_exposure(dim, painting, 0.5)  # strength: part of the way
    assert mean_lightness(darker) < mean_lightness(half) < base


@pytest.mark.parametrize("stops", [-3.0, -1.0, 0.5, 2.0])
def test_the_curve_is_smooth_and_monotone(stops: float) -> None:
    curve = exposure_curve(stops).astype(int)
    assert curve[0] == 0 and np.all(np.diff(curve) >= 0)
    assert np.abs(np.diff(curve, 2)).max() <= 3  # no kink
    if stops > 0:
        assert curve[255] == 255 and curve[250] < 255  # rolls off towards white, no flat clipped band


def test_a_small_region_changing_moves_the_curve_little() -> None:
    """Video: a still, dim background must be painted the same when only a small region changes
    (the light is the interquartile mean of a small copy of the whole frame: the plain mean moved
    this curve by 6 levels)."""
    photo = _photo(45, (360, 640))
    a, b = photo.copy(), photo.copy()
    a[40:88, 560:608], b[40:88, 560:608] = 0, 255  # 1% of the frame, black to white
    ca, cb = exposure_curve(exposure_stops(a)).astype(int), exposure_curve(exposure_stops(b)).astype(int)
    assert np.abs(ca - cb).max() <= 1
    noisy = np.clip(photo + np.random.default_rng(3).normal(0, 2, photo.shape) + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(exposure_curve(exposure_stops(noisy)).astype(int) - exposure_curve(exposure_stops(photo))).max() <= 1


class _GreyEngine:
    """Stands in for StyleNet: paints every frame mid-grey, whatever its light (as instance norm does)."""

    device = "cpu"

    def run(self, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
        return np.full((1, *rgb.shape[1:]), 0.5, np.float32)


@shipped
def test_the_stylizer_gives_the_exposure_back_when_asked() -> None:
    dim = _photo(50)
    plain = Stylizer("wave", engine=_GreyEngine())  # type: ignore[arg-type]
    kept = Stylizer("wave", engine=_GreyEngine(), exposure=1.0)  # type: ignore[arg-type]
    assert kept.exposure == 1.0
    assert mean_lightness(kept(dim)) < mean_lightness(plain(dim)) - 15
    normal = _photo(119)
    assert np.array_equal(kept(normal), plain(normal))


@shipped
@pytest.mark.parametrize("strength", [-0.1, 1.5, float("nan")])
def test_an_exposure_strength_out_of_range_is_refused(strength: float) -> None:
    with pytest.raises(DeepPhotoError, match="exposure"):
        Stylizer("wave", engine=_GreyEngine(), exposure=strength)  # type: ignore[arg-type]


def test_keep_exposure_is_a_validated_setting() -> None:
    from deepphoto import Settings

    assert Settings().keep_exposure == 0.0  # off unless asked (docs/benchmark/exposure.md)
    assert Settings(keep_exposure=0.5).keep_exposure == 0.5
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(DeepPhotoError, match="keep-exposure"):
            Settings(keep_exposure=bad)


@shipped
def test_the_pipeline_paints_a_dim_photo_dim_when_asked_and_live() -> None:
    from deepphoto import Pipeline, Settings

    dim = _photo(45, (96, 128))
    with Pipeline(Settings(style="wave", region="whole", backend="onnx", precision="fp32")) as pipe:
        plain = pipe.photo(dim)
        pipe.update(keep_exposure=1.0)
        kept = pipe.photo(dim)
        pipe.update(keep_exposure=0.0)
        again = pipe.photo(dim)
    assert mean_lightness(kept) < mean_lightness(plain) - 10
    assert np.array_equal(again, plain)


def test_the_command_line_refuses_an_exposure_out_of_range(tmp_path: Path) -> None:
    import subprocess
    import sys

    photo = tmp_path / "in.png"
    cv2.imwrite(str(photo), _photo(60))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "deepphoto",
            "edit",
            str(photo),
            str(tmp_path / "out.png"),
            "--style",
            "wave",
            "--keep-exposure",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "keep-exposure 2" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out.png").exists()


def test_edit_with_any_painting_keeps_a_dim_photos_exposure_when_asked(tmp_path: Path) -> None:
    from deepphoto.arbitrary import ArbitraryStyle
    from deepphoto.commands.cli import main

    try:
        ArbitraryStyle.open(1)
    except DeepPhotoError as exc:
        pytest.skip(f"the any-painting ONNX files are not in the asset cache ({exc})")
    photo, painting = tmp_path / "dim.png", tmp_path / "painting.png"
    cv2.imwrite(str(photo), _photo(45, (96, 128)))
    cv2.imwrite(str(painting), _painting())
    look = ["--style-image", str(painting), "--region", "whole", "--threads", "1"]
    assert main(["edit", str(photo), str(tmp_path / "plain.png"), *look]) == 0
    assert main(["edit", str(photo), str(tmp_path / "kept.png"), *look, "--keep-exposure", "1"]) == 0
    plain, kept = (cv2.imread(str(tmp_path / f"{n}.png")) for n in ("plain", "kept"))
    assert mean_lightness(kept) < mean_lightness(plain) - 10
    # strength 0 is the photo itself: its own share is not re-exposed (it was: L* 18 -> 5)
    zero = tmp_path / "zero.png"
    assert main(["edit", str(photo), str(zero), *look, "--keep-exposure", "1", "--strength", "0"]) == 0
    assert np.array_equal(cv2.imread(str(zero)), cv2.imread(str(photo)))
