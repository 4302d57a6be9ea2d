"""A photo read as all person (a painting, mostly) says so when its background was to be painted;
a transparent photo's soft edges keep their own colour (they came out lightened: laid on white for
the networks, then given their transparency back); paint on clear parts, which cannot show, is
said to be there."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_exposure_region import stand_ins  # noqa: F401  # a bright-is-person segmenter, a grey painter

from deepphoto.commands.cli import main
from deepphoto.frames import off_white, on_white
from deepphoto.pipeline import ALL_PERSON, person_note


def test_person_note_says_what_a_user_should_know():
    assert person_note(None, "background") == ""
    assert person_note(0.0, "person") == "no person found; the photo is left as it was"
    assert person_note(0.0, "background") == "no person found; the photo is painted whole"
    assert person_note(0.5, "background") == ""
    assert person_note(ALL_PERSON - 0.01, "background") == ""
    assert person_note(0.99, "background").startswith("99% of it taken as the person")
    assert person_note(0.99, "person") == person_note(0.99, "whole") == ""


def test_edit_says_when_nearly_all_of_a_photo_is_taken_as_a_person(stand_ins, tmp_path, capsys):  # noqa: F811
    bright = np.full((120, 160, 3), 230, np.uint8)  # the stand-in segmenter: bright is person
    photo = tmp_path / "painting.png"
    cv2.imwrite(str(photo), bright)
    assert main(["edit", str(photo), str(tmp_path / "out.png"), "--style", "wave", "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert "100% of it taken as the person, so little background is painted" in err, err


def test_off_white_undoes_on_white():
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    back = off_white(on_white(colour.copy(), alpha), alpha).astype(int)
    seen = alpha >= 32  # rounding on white is at most half a level, times 255 / alpha back
    assert np.abs(back - colour)[seen].max() <= 4
    assert (back[alpha == 0] == 255).all()  # fully clear: left on white
    assert np.array_equal(back[alpha == 255], colour[alpha == 255])


@pytest.fixture
def nobody(monkeypatch: pytest.MonkeyPatch, stand_ins) -> None:  # noqa: F811
    """The stand-ins, with a segmenter that finds no person anywhere."""
    from test_exposure_region import BrightIsPerson

    import deepphoto.pipeline as pipeline_module

    class Nobody(BrightIsPerson):
        def infer(self, x: np.ndarray) -> np.ndarray:
            return np.zeros(x.shape, np.float32)

    monkeypatch.setattr(pipeline_module, "open_segmenter", lambda name, options: Nobody())


def test_a_transparent_photos_soft_edge_keeps_its_dark_colour(nobody, tmp_path, capsys):
    """A dark cut-out with a soft edge on a clear background, nothing painted (no person, region
    person): the edge's colour stays dark, as in the file, instead of lightened by white."""
    h, w = 120, 160
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., :3] = 40  # dark, not bright: not taken as person by the stand-in
    alpha = np.zeros((h, w), np.uint8)
    cv2.circle(alpha, (80, 60), 40, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 4)
    rgba[..., 3] = alpha
    photo, out = tmp_path / "cutout.png", tmp_path / "out.png"
    cv2.imwrite(str(photo), rgba)
    assert main(["edit", str(photo), str(out), "--style", "wave", "--region", "person", "--threads", "1"]) == 0
    got = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert got.shape == (h, w, 4) and np.array_equal(got[..., 3], alpha)
    soft = (alpha >= 64) & (alpha <= 192)
    assert soft.sum() > 100
    assert np.abs(got[..., :3][soft].astype(int) - 40).max() <= 3  # was 99-150: laid on white
    assert "is transparent" not in capsys.readouterr().err  # region person: no paint on the clear parts


@pytest.mark.parametrize("region", ["background", "whole"])
def test_paint_on_clear_parts_is_said_not_to_show(stand_ins, tmp_path, capsys, region):  # noqa: F811
    rgba = np.zeros((120, 160, 4), np.uint8)
    rgba[30:90, 50:110] = (40, 40, 40, 255)  # a dark square on a clear background: 81% clear
    photo = tmp_path / "cutout.png"
    cv2.imwrite(str(photo), rgba)
    args = ["edit", str(photo), str(tmp_path / "out.png"), "--style", "wave", "--region", region, "--threads", "1"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "81% of it is transparent, and paint there does not show" in err, err


def test_batch_notes_paint_on_clear_parts_too(tmp_path):
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from types import SimpleNamespace

    from deepphoto.batch.actors import paint_photo

    rgba = np.zeros((120, 160, 4), np.uint8)
    rgba[30:90, 50:110] = (40, 40, 40, 255)
    cv2.imwrite(str(tmp_path / "cutout.png"), rgba)
    pipe = SimpleNamespace(
        reset=lambda: None,
        photo=lambda image, painted=None, kept=None, alpha=None, keep_mask=True: image,
        person_share=0.5,
        settings=SimpleNamespace(region="background"),
    )
    assert paint_photo(pipe, tmp_path / "cutout.png", tmp_path / "out.png")[1] == (
        "81% of it is transparent, and paint there does not show (write a .jpg to see it on white)"
    )


def test_a_still_png_or_webp_is_told_by_its_header_not_decoded_again(monkeypatch):
    """The Studio asks of every upload whether it is an animation: a still picture's header says it
    is not (a 40-megapixel PNG was decoded twice); an animated one is still found."""
    import io

    from PIL import Image

    from deepphoto.stream import animation

    pictures = [Image.fromarray(np.full((40, 60, 3), 60 * i, np.uint8)) for i in range(3)]
    for kind in ("PNG", "WEBP"):
        still, moving = io.BytesIO(), io.BytesIO()
        pictures[0].save(still, kind)
        pictures[0].save(moving, kind, save_all=True, append_images=pictures[1:], duration=100)
        if not hasattr(cv2, "imdecodeanimation"):
            pytest.skip("this OpenCV cannot tell an animation's frames")
        assert animation.data_has_frames(np.frombuffer(moving.getvalue(), np.uint8))
        with monkeypatch.context() as m:
            m.setattr(animation, "decode_chunk", lambda *a, k=kind: pytest.fail(f"a still {k} decoded again"))
            assert not animation.data_has_frames(np.frombuffer(still.getvalue(), np.uint8))
