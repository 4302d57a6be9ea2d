"""The paintings a user brings (bug hunt 31). Each used to go wrong without a word:

- a painting of one flat colour other than a grey (a flat orange, a blue) was taken by ``edit
  --style-image`` (the photo came back washed in orange), ``add-style`` and the Studio's upload:
  the flat check measured the spread of all the numbers together, which is the spread between the
  colour's channels; now each channel's own spread is measured;
- a painting cut out on a transparent background (a round painting in a PNG) was taken on white:
  its style was washed white, the photo's whole background painted near white. Now ``edit
  --style-image`` (either method), ``add-style`` and the Studio's upload take the box of its opaque
  part, the clear pixels left in it laid on the opaque part's mean colour (``frames.painting_from``);
- an animated GIF or WebP given as the painting was painted after its first frame without a word
  (a photo given to ``edit`` says so): now a warning says which frame is the painting;
- a style added with ``add-style`` while the Studio runs was listed by its page (reloaded), but
  choosing it was refused as "unknown style" by the network the Studio had opened before it, and
  its gallery picture was missing: now the pipeline opens the network again when the styles folder
  holds other styles, and the gallery paints the new style's picture.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from adversarial import FAST, cli, refused, write_png
from test_hunt23_user_styles import shipped_rows, write_style

import deepphoto.arbitrary
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import check_painting, painting_from, read_painting
from deepphoto.pipeline import Pipeline
from deepphoto.settings import Settings
from deepphoto.stream.animation import has_frames
from deepphoto.web.store import Uploads


def photo(h: int = 40, w: int = 48, seed: int = 31) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


@pytest.mark.parametrize("bgr", [(40, 120, 200), (255, 0, 0), (0, 0, 255)])
def test_a_flat_colour_painting_is_refused_by_edit_and_add_style(capsys, tmp_path, monkeypatch, bgr):
    monkeypatch.setenv("DEEPPHOTO_DATA_DIR", str(tmp_path / "data"))
    source = write_png(tmp_path / "in.png", photo())
    flat = np.full((64, 80, 3), bgr, np.uint8)
    flat = np.clip(flat + np.random.default_rng(1).integers(-1, 2, flat.shape), 0, 255).astype(np.uint8)  # noise
    painting = write_png(tmp_path / "orange.png", flat)
    out = tmp_path / "out.png"
    says = "orange.png: is one flat colour"
    refused(capsys, "edit", source, out, "--style-image", painting, *FAST, says=says)
    refused(capsys, "add-style", painting, "--name", "orange", "--steps", "1", says=says)
    assert not out.exists() and not (tmp_path / "data").exists()


def test_two_flat_colours_and_a_grey_painting_still_paint():
    halves = np.zeros((64, 64, 3), np.uint8)
    halves[:, :32] = (40, 120, 200)
    halves[:, 32:] = (200, 120, 40)
    check_painting(halves, "halves.png", "paint with")
    grey = np.repeat(photo(64, 64)[..., :1], 3, axis=2)
    check_painting(grey, "grey.png", "paint with")
    check_painting(grey[..., 0], "grey.png", "paint with")  # a 2-D grey array too
    with pytest.raises(DeepPhotoError, match="one flat colour"):
        check_painting(np.full((64, 64), 90, np.uint8), "flat.png", "paint with")


def textured(h: int = 120, w: int = 160) -> np.ndarray:
    """A stand-in painting: blue-yellow strokes, no white in it."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    wave = 0.5 + 0.5 * np.sin(x / 5 + 3 * np.sin(y / 11))
    img = np.dstack([160 + 60 * wave, 80 + 60 * wave, 40 + 120 * (1 - wave)])
    return np.clip(img + np.random.default_rng(3).normal(0, 8, img.shape), 0, 255).astype(np.uint8)


def cut_out(h: int = 120, w: int = 160) -> np.ndarray:
    """``textured`` cut out as a circle of radius 40 around (90, 60), soft-edged, on transparent
    black: a 'round painting' saved as a PNG."""
    y, x = np.mgrid[0:h, 0:w]
    alpha = np.clip((41 - np.hypot(x - 90, y - 60)) * 255, 0, 255).astype(np.uint8)
    return np.dstack([textured(h, w) * (alpha[..., None] > 0), alpha])


class Recorder:
    """A stand-in any-painting network: records the painting, paints nothing."""

    paintings: list[np.ndarray] = []

    @classmethod
    def open(cls, threads: int = 0) -> Recorder:
        return cls()

    def style_vector(self, painting: np.ndarray) -> np.ndarray:
        Recorder.paintings.append(painting)
        return np.zeros((1, 1, 1, 100), np.float32)

    def paint(self, photo: np.ndarray, vector: np.ndarray, strength: float = 1.0) -> np.ndarray:
        return photo.copy()


def test_a_cut_out_painting_is_its_opaque_part_not_white(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(deepphoto.arbitrary, "ArbitraryStyle", Recorder)
    Recorder.paintings = []
    source = write_png(tmp_path / "in.png", photo())
    painting = write_png(tmp_path / "round.png", cut_out())
    done = cli(capsys, "edit", source, tmp_path / "out.png", "--style-image", painting, "--region", "whole", *FAST)
    assert done.status == 0, done.err
    (seen,) = Recorder.paintings
    assert seen.shape == (81, 81, 3)  # the opaque part's box, not the 160x120 file on white
    inside = textured()[20:101, 50:131]
    y, x = np.mgrid[0:81, 0:81]
    core = np.hypot(x - 40, y - 40) < 39
    assert np.abs(seen[core].astype(int) - inside[core]).max() <= 1  # the painting itself as it is
    corners = np.hypot(x - 40, y - 40) > 41
    assert seen[corners].min() < 200  # no white left: the corners are the painting's mean colour
    mean = inside[core].mean(axis=0)
    assert np.abs(seen[corners].astype(float) - mean).max() <= 2
    assert (read_painting(painting) == seen).all()  # add-style and the optimiser read it alike


def test_a_cut_out_painting_uploaded_to_the_studio_is_taken_alike(tmp_path):
    image, alpha = cut_out()[..., :3].copy(), cut_out()[..., 3].copy()
    a = alpha[..., None].astype(np.float32) / 255
    on_white = (image * a + 255 * (1 - a) + 0.5).astype(np.uint8)  # as the readers give it
    uploads = Uploads(tmp_path)
    item = uploads.add("client", "painting", on_white, "PNG", alpha)
    assert (item.image == painting_from(on_white, alpha)).all() and item.image.shape == (81, 81, 3)
    assert item.path is not None and item.path.is_file()
    uploads.close()


def test_a_painting_without_transparency_is_taken_as_it_is():
    image = textured()
    assert painting_from(image, None) is image
    assert painting_from(image, np.full(image.shape[:2], 255, np.uint8)) is image
    clear = np.zeros(image.shape[:2], np.uint8)  # nothing opaque: left to the flat check to refuse
    assert painting_from(np.full_like(image, 255), clear).shape == image.shape


def test_an_animated_painting_says_its_first_frame_is_the_painting(capsys, tmp_path):
    from PIL import Image

    first, second = textured(), textured()[::-1, ::-1].copy()
    path = tmp_path / "anim.gif"
    frames = [Image.fromarray(f[..., ::-1]) for f in (first, second)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    if not has_frames(path):
        pytest.skip("this OpenCV cannot tell an animation's frames (cv2.imdecodeanimation)")
    painting = read_painting(path)
    assert painting.shape == first.shape
    err = capsys.readouterr().err
    assert "anim.gif: an animation: its first frame is the painting" in err, err


def test_a_style_added_or_removed_while_a_pipeline_runs_paints(data_dir):
    """The Studio keeps one pipeline open; the user runs add-style (or remove-style) meanwhile."""
    styles = data_dir / "styles"
    write_style(styles, "first", shipped_rows(0))
    picture = textured(64, 80)
    settings = Settings(style="first", region="whole", threads=1, backend="onnx", precision="fp32")
    with Pipeline(settings) as pipe:
        first = pipe.photo(picture).astype(int)
        write_style(styles, "second", shipped_rows(2))  # as add-style writes it, the Studio running
        pipe.update(style="second")
        second = pipe.photo(picture).astype(int)
        pipe.update(style="wave")  # shipped row 2
        shipped = pipe.photo(picture).astype(int)
        assert np.abs(second - shipped).max() <= 1  # the new style paints as the rows it holds
        assert np.abs(second - first).mean() > 5
        (styles / "first.safetensors").unlink()  # remove-style of the style before it
        pipe.update(style="second")
        assert np.abs(pipe.photo(picture).astype(int) - second).max() <= 1  # its row moved: still itself


def test_the_studio_gallery_paints_a_style_added_while_it_runs(data_dir, tmp_path):
    from deepphoto.web.photo import PhotoStudio

    studio = PhotoStudio(Settings(threads=1, backend="onnx", precision="fp32"), Uploads(tmp_path / "up"))
    try:
        before = studio.thumbnails()
        assert "second" not in before
        write_style(data_dir / "styles", "second", shipped_rows(2))  # add-style, the Studio running
        after = studio.thumbnails()
        assert set(after) == {*before, "second"}
        assert after["wave"] == before["wave"]  # the others are not painted again
    finally:
        studio.close()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
