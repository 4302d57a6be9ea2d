"""Any painting as a style (Magenta's arbitrary-style networks), ``--strength`` and ``edit --style-image``."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import SHARED, needs_shared, stand_in_photo

from deepphoto.arbitrary import ArbitraryStyle
from deepphoto.commands.cli import main
from deepphoto.errors import DeepPhotoError
from deepphoto.pipeline import Pipeline
from deepphoto.settings import Settings

PORTRAITS = SHARED / "seg" / "eg-portraits" / "images"
STYLES = SHARED / "styles"


@pytest.fixture(scope="module")
def teacher() -> ArbitraryStyle:
    try:
        return ArbitraryStyle.open(threads=2)
    except DeepPhotoError as exc:
        pytest.skip(f"the any-painting ONNX files are not in the asset cache ({exc})")


def photo(h: int = 240, w: int = 180, seed: int = 0) -> np.ndarray:
    return stand_in_photo(h, w, seed)


def stripes(colour_a: tuple[int, int, int], colour_b: tuple[int, int, int], period: int, angle: float) -> np.ndarray:
    """A stand-in painting: bold two-colour strokes."""
    y, x = np.mgrid[0:300, 0:400]
    band = (np.cos(np.deg2rad(angle)) * x + np.sin(np.deg2rad(angle)) * y) // period % 2 == 0
    return np.where(band[..., None], np.array(colour_a, np.uint8), np.array(colour_b, np.uint8)).astype(np.uint8)


def luminance_correlation(a: np.ndarray, b: np.ndarray) -> float:
    la, lb = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(np.float32).ravel() for x in (a, b))
    return float(np.corrcoef(la, lb)[0, 1])


def test_shapes_follow_the_networks_and_the_photo(teacher):
    vector = teacher.style_vector(stripes((30, 60, 200), (220, 200, 40), 12, 30))
    assert vector.dtype == np.float32 and vector.shape == (1, 1, 1, 100)
    assert np.isfinite(vector).all()
    for image in (
        photo(240, 180),
        photo(97, 211)[..., 0],
        np.dstack([photo(500, 700), np.full((500, 700), 255, np.uint8)]),
    ):
        out = teacher.paint(image, vector)
        assert out.shape == image.shape[:2] + (3,) and out.dtype == np.uint8


def test_strength_zero_is_the_photo_and_one_paints_it(teacher):
    image = photo()
    vector = teacher.style_vector(stripes((30, 60, 200), (220, 200, 40), 12, 30))
    diffs = [float(np.abs(teacher.paint(image, vector, s).astype(int) - image).mean()) for s in (0.0, 0.5, 1.0)]
    assert diffs[0] < 0.5  # (nearly) the photo
    assert diffs[2] > 10  # painted
    assert diffs[0] < diffs[1] < diffs[2]


def test_two_paintings_paint_differently(teacher):
    image = photo()
    a = teacher.paint(image, teacher.style_vector(stripes((30, 60, 200), (220, 200, 40), 12, 30)))
    b = teacher.paint(image, teacher.style_vector(stripes((40, 160, 40), (20, 20, 90), 40, 100)))
    assert float(np.abs(a.astype(int) - b).mean()) > 8


def test_bad_values_are_one_line_errors(teacher):
    vector = teacher.style_vector(stripes((30, 60, 200), (220, 200, 40), 12, 30))
    with pytest.raises(DeepPhotoError, match="strength 1.5: must be from 0 to 1"):
        teacher.paint(photo(), vector, 1.5)
    with pytest.raises(DeepPhotoError, match="style vector of 3 numbers"):
        teacher.paint(photo(), np.zeros(3, np.float32))
    with pytest.raises(DeepPhotoError, match="at least"):
        teacher.style_vector(np.zeros((4, 300, 3), np.uint8))


def test_open_without_the_files_says_to_run_assets(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    with pytest.raises(DeepPhotoError, match="run 'deepphoto assets'") as caught:
        ArbitraryStyle.open()
    assert "\n" not in str(caught.value)


@needs_shared
def test_a_painted_face_keeps_its_light_and_dark(teacher):
    vector = teacher.style_vector(cv2.imread(str(STYLES / "the_scream.jpg")))
    for name in ("00001.jpg", "00010.jpg"):
        image = cv2.imread(str(PORTRAITS / name))
        out = teacher.paint(image, vector)
        assert float(np.abs(out.astype(int) - image).mean()) > 10, name
        assert luminance_correlation(out, image) > 0.6, name


@needs_shared
def test_edit_paints_the_background_after_any_painting_and_keeps_the_person(teacher, tmp_path):
    source = PORTRAITS / "00001.jpg"
    out = tmp_path / "out.png"
    cmd = [sys.executable, "-m", "deepphoto", "edit", str(source), str(out)]
    cmd += ["--style-image", str(STYLES / "starry_night.jpg"), "--region", "background", "--threads", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "starry_night.jpg" in done.stdout
    image, result = cv2.imread(str(source)), cv2.imread(str(out))
    assert result.shape == image.shape
    with Pipeline(Settings(effect="grey", region="background", threads=2)) as pipe:  # the CLI's segmenter
        person = pipe.mask(image)
    diff = np.abs(result.astype(int) - image).mean(axis=2)
    assert (person > 0.99).mean() > 0.2 and (person < 0.01).mean() > 0.2
    assert diff[person > 0.99].mean() < 1.0  # the person unchanged
    assert diff[person < 0.01].mean() > 15  # the background painted


def test_edit_refuses_a_painting_that_is_not_an_image(capsys, tmp_path):
    source, painting, out = tmp_path / "in.png", tmp_path / "painting.jpg", tmp_path / "out.png"
    cv2.imwrite(str(source), photo())
    painting.write_text("not a picture")
    status = main(["edit", str(source), str(out), "--style-image", str(painting)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith("deepphoto: error:") and "painting.jpg: not a readable image" in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not out.exists()


def test_edit_refuses_a_style_image_with_a_style_and_a_bad_strength(capsys, tmp_path):
    source, out = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(source), photo())
    for extra, message in (
        (["--style-image", str(source), "--style", "wave"], "not both"),
        (["--style", "wave", "--strength", "1.5"], "strength 1.5: must be from 0 to 1"),
    ):
        status = main(["edit", str(source), str(out), *extra])
        assert status == 2 and message in capsys.readouterr().err
    assert not out.exists()


def test_strength_of_a_named_style_blends_with_the_frame():
    from deepphoto.models.shipped import style_names

    image = photo(120, 160)
    outs = []
    for strength in (0.0, 0.5, 1.0):
        settings = Settings(style=style_names()[0], region="whole", strength=strength, style_scale=1.0)
        with Pipeline(settings) as pipe:
            outs.append(pipe.photo(image))
    diffs = [float(np.abs(o.astype(int) - image).mean()) for o in outs]
    assert diffs[0] < 0.5 and diffs[2] > 10
    assert abs(diffs[1] - diffs[2] / 2) < 0.2 * diffs[2]  # halfway, as a blend is


def test_strength_changes_live():
    from deepphoto.models.shipped import style_names

    image = photo(120, 160)
    with Pipeline(Settings(style=style_names()[0], region="whole", style_scale=1.0)) as pipe:
        painted = pipe.photo(image)
        pipe.update(strength=0.0)
        assert np.abs(pipe.photo(image).astype(int) - image).mean() < 0.5
        assert np.abs(painted.astype(int) - image).mean() > 10
        with pytest.raises(DeepPhotoError, match="strength"):
            pipe.update(strength=-0.1)
