"""eval-style: the picture scores on known inputs, the held-out photos, a tiny run's columns and sheet,
and the photo optimiser's strength against the teacher."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED, needs_shared, stand_in_photo

from deepphoto.datasets import LABELLED_SETS
from deepphoto.errors import DeepPhotoError
from deepphoto.measure import picture_scores as scores
from deepphoto.measure.held_out import HELD_OUT_SETS, held_out_files
from deepphoto.models.paintings import PAINTINGS
from deepphoto.models.shipped import style_names


def photo(h: int = 64, w: int = 48, seed: int = 0) -> np.ndarray:
    return stand_in_photo(h, w, seed)


def stripes(h: int = 150, w: int = 200) -> np.ndarray:
    """A stand-in painting: bold blue and orange strokes."""
    y, x = np.mgrid[0:h, 0:w]
    band = (x + y) // 12 % 2 == 0
    return np.where(band[..., None], np.array((200, 60, 20), np.uint8), np.array((30, 140, 240), np.uint8))


# ---------------------------------------------------------------- the scores


def test_psnr_of_identical_and_known_pictures():
    a = photo()
    assert scores.psnr(a, a) == math.inf
    zero, ten = np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 10, np.uint8)
    assert scores.psnr(zero, ten) == pytest.approx(10 * math.log10(255**2 / 100))


def test_ssim_is_one_for_identical_and_negative_for_inverted():
    a = photo()
    assert scores.ssim(a, a) == pytest.approx(1.0)
    assert scores.ssim(a, 255 - a) < 0
    assert 0 < scores.ssim(a, cv2.GaussianBlur(a, (5, 5), 2)) < 1


def test_luminance_correlation_keeps_and_inverts():
    a = photo()
    assert scores.luminance_correlation(a, a) == pytest.approx(1.0)
    assert scores.luminance_correlation(255 - a, a) == pytest.approx(-1.0)
    brighter = np.clip(a.astype(np.int16) * 0.5 + 60, 0, 255).astype(np.uint8)
    assert scores.luminance_correlation(brighter, a) > 0.99  # a tone change keeps the structure
    assert scores.luminance_correlation(np.full_like(a, 90), a) == 0.0  # flat: no structure, not nan
    with pytest.raises(ValueError, match="different shapes"):
        scores.luminance_correlation(a, a[:10])


def test_painted_is_the_mean_delta_e():
    black, white = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)
    assert scores.painted(black, black) == 0.0
    assert scores.painted(white, black) == pytest.approx(100.0, abs=0.1)  # L 0 -> 100
    a = photo()
    paper = np.full_like(a, 255)
    half = cv2.addWeighted(paper, 0.5, a, 0.5, 0)
    assert 0 < scores.painted(half, a) < scores.painted(paper, a)


def test_palette_pull_goes_from_the_photo_to_the_painting():
    a, art = photo(), cv2.resize(stripes(), (48, 64), interpolation=cv2.INTER_NEAREST)
    assert scores.palette_pull(a, a, art) == pytest.approx(0.0)
    assert scores.palette_pull(art, a, art) == pytest.approx(1.0)
    assert 0.2 < scores.palette_pull(cv2.addWeighted(art, 0.5, a, 0.5, 0), a, art) < 0.8


# ---------------------------------------------------------------- the held-out photos


def first_stems(set_name: str, n: int, validation: bool = True) -> list[str]:
    s = LABELLED_SETS[set_name]
    return [stem for stem in (f"{i:04d}" for i in range(10000)) if s.is_validation(stem) == validation][:n]


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """Two validation and one training photo per held-out set (with masks), and two paintings:
    Starry Night (a stand-in) and a second shared painting."""
    data = tmp_path / "data"
    for k, name in enumerate(HELD_OUT_SETS):
        folder = data / LABELLED_SETS[name].folder
        (folder / "images").mkdir(parents=True)
        (folder / "masks").mkdir()
        for j, stem in enumerate(first_stems(name, 2) + first_stems(name, 1, validation=False)):
            cv2.imwrite(str(folder / "images" / f"{stem}.jpg"), photo(64, 48, seed=3 * k + j))
            cv2.imwrite(str(folder / "masks" / f"{stem}.png"), np.full((64, 48), 255, np.uint8))
    (data / "styles").mkdir()
    cv2.imwrite(str(data / "styles" / "starry_night.jpg"), stripes())
    cv2.imwrite(str(data / "styles" / PAINTINGS[-1].file), 255 - stripes())
    return data


def test_held_out_photos_are_validation_only_round_robin_and_fixed(tiny_data):
    picked = held_out_files(tiny_data, 6)
    assert [name.split("/")[0] for name, _ in picked] == [*HELD_OUT_SETS, *HELD_OUT_SETS[:2]]
    assert picked[1][0].startswith("fashion/")  # a full figure among the first two
    for name, path in picked:
        assert LABELLED_SETS[name.split("/")[0]].is_validation(path.stem)
    assert held_out_files(tiny_data, 6) == picked
    assert len(held_out_files(tiny_data, 100)) == 8  # every validation photo, no training one
    with pytest.raises(DeepPhotoError):
        held_out_files(tiny_data, 0)


# ---------------------------------------------------------------- a tiny run


@pytest.fixture(scope="module")
def teacher_files():
    from deepphoto.assets import ARBITRARY_PREDICT, ARBITRARY_TRANSFORM, fetch

    try:
        for wanted in (ARBITRARY_PREDICT, ARBITRARY_TRANSFORM):
            fetch(wanted, download=False)
        from deepphoto.models.vgg import load_vgg19

        load_vgg19("block5_relu1", download=False)
    except DeepPhotoError as exc:
        pytest.skip(f"the teacher's or VGG19's files are not in the asset cache ({exc})")


@pytest.mark.skipif(not style_names(), reason="no style network shipped in this checkout")
def test_a_tiny_run_gives_every_column_and_the_sheet(tiny_data, tmp_path, capsys, teacher_files):
    from deepphoto.commands.cli import main
    from deepphoto.measure.style_sheet import CAPTION, HEADER, TILE

    sheet = tmp_path / "sheet.png"
    argv = ["eval-style", "--data", str(tiny_data), "--size", "32", "--images", "2", "--sheet", str(sheet)]
    argv += ["--optimize-images", "1", "--optimize-iterations", "1,1", "--optimize-size", "32", "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    names = style_names()
    no_slot = [PAINTINGS[-1].name] if PAINTINGS[-1].name not in names else []
    rows = {r["style"]: r for r in summary["styles"]}
    assert list(rows) == names + no_slot
    starry = rows["starry-night"]  # a slot and a painting: every column
    for key in (
        "psnr",
        "ssim",
        "luminance_correlation",
        "teacher_luminance_correlation",
        "painted",
        "teacher_painted",
        "palette_pull",
        "content_loss",
        "style_loss",
        "teacher_style_loss",
        "temporal_error",
        "optimizer_painted",
        "optimizer_teacher_painted",
        "optimizer_luminance_correlation",
        "optimizer_seconds",
    ):
        assert isinstance(starry[key], float) and math.isfinite(starry[key]), key
    assert -1 <= starry["luminance_correlation"] <= 1 and starry["photos"] == 2
    if no_slot:  # a painting without a slot: the teacher and the optimiser only
        other = rows[no_slot[0]]
        assert other["slot"] is False and "psnr" not in other and "optimizer_painted" in other
        assert isinstance(other["teacher_luminance_correlation"], float)
    wave = rows["wave"]  # a slot whose painting is not in this data: no teacher
    assert "psnr" not in wave and isinstance(wave["luminance_correlation"], float)
    assert summary["photos"] == [f"{s}/{first_stems(s, 1)[0]}" for s in HELD_OUT_SETS[:2]]
    assert summary["latency_ms_640x480"] > 0 and summary["gmacs_640x480"] > 0
    assert summary["latency_style_scale"] == 0.75 and summary["latency_ms_640x480_full_size"] > 0
    assert "PSNR" in out and "starry-night" in out
    image = cv2.imread(str(sheet))
    assert image.shape[0] == HEADER + 2 * len(rows) * (TILE[1] + CAPTION)
    assert image.shape[1] == 150 + 5 * TILE[0]


# ---------------------------------------------------------------- the optimiser's strength


def test_optimizer_starts_from_the_teachers_painting(tmp_path, teacher_files):
    """No steps: the optimiser's picture is the teacher's painting of the photo (any painting)."""
    from deepphoto.arbitrary import ArbitraryStyle
    from deepphoto.optimizer import paint_photo

    image, art = photo(96, 72), stripes()
    painting = tmp_path / "painting.png"
    cv2.imwrite(str(painting), art)
    teacher = ArbitraryStyle.open(threads=1)
    taught = teacher.paint(image, teacher.style_vector(art))
    out = paint_photo(image, None, painting, size=96, iterations=(0, 0), progress=False)
    assert np.array_equal(out, taught)
    half = paint_photo(image, None, painting, size=96, iterations=(0, 0), progress=False, strength=0.5)
    assert scores.painted(half, image) == pytest.approx(scores.painted(taught, image) / 2, rel=0.15)


@needs_shared
def test_optimizer_paints_at_least_as_strongly_as_the_teacher(teacher_files):
    """A held-out portrait at 128 pixels, The Great Wave, the default steps: at least as far from
    the photo as the teacher's painting (mean Delta E), the face's light and dark kept."""
    from deepphoto.arbitrary import ArbitraryStyle
    from deepphoto.measure.held_out import at_short_side
    from deepphoto.optimizer import paint_photo

    image = at_short_side(cv2.imread(str(SHARED / "seg" / "eg-portraits" / "images" / "00007.jpg")), 96)
    painting = SHARED / "styles" / "wave.jpg"
    teacher = ArbitraryStyle.open(threads=2)
    taught = teacher.paint(image, teacher.style_vector(cv2.imread(str(painting))))
    out = paint_photo(image, None, painting, size=max(image.shape[:2]), progress=False)
    assert scores.painted(out, image) >= scores.painted(taught, image)
    assert scores.luminance_correlation(out, image) >= 0.6
    assert scores.psnr(out, taught) < 30  # it did paint further


def test_edit_optimize_at_strength_0_gives_the_photo(tmp_path, teacher_files):
    from deepphoto.commands.cli import main

    image = photo(96, 72)
    src, out, painting = tmp_path / "in.png", tmp_path / "out.png", tmp_path / "painting.png"
    cv2.imwrite(str(src), image)
    cv2.imwrite(str(painting), stripes())
    argv = ["edit", str(src), str(out), "--method", "optimize", "--style-image", str(painting), "--size", "96"]
    assert main([*argv, "--region", "whole", "--strength", "0"]) == 0
    assert np.array_equal(cv2.imread(str(out)), image)
