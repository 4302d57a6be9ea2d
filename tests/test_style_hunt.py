"""Styles and paintings as a demanding user meets them: blends of huge amounts, a data folder that
cannot be written, two add-style jobs of one name, and content photos changed between runs."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from adversarial import refused
from test_add_style import sha_of_shipped, shipped_rows, stripes

from deepphoto.errors import DeepPhotoError
from deepphoto.models.shipped import SHIPPED, style_names, style_vector
from deepphoto.models.user_styles import read_user_style, save_user_style
from deepphoto.teachers.paintings import PaintingCache, own_content

NAMES = style_names(SHIPPED["stylenet"])


@pytest.mark.parametrize("blend", ["wave:1e308,udnie:1e308", "wave:1e308,wave:1e308,udnie:0"])
def test_huge_blend_amounts_paint_a_style_not_nothing(blend):
    """Amounts each finite but adding up past float range made every weight 0 (or NaN): a blank
    grey picture, status 0."""
    vector = np.array(style_vector(blend, NAMES))
    assert np.isfinite(vector).all() and vector.sum() == pytest.approx(1.0)
    assert vector[NAMES.index("wave")] >= 0.5


@pytest.fixture
def painting_file(tmp_path):
    path = tmp_path / "painting.png"
    cv2.imwrite(str(path), stripes())
    return path


@pytest.fixture
def no_learning(monkeypatch):
    """add-style's minutes of learning, replaced by a note that they began."""
    import deepphoto.training.add_style as training

    began = []

    def learn(*args, **kwargs):
        began.append(args)
        raise DeepPhotoError("learning stood in for by the test")

    monkeypatch.setattr(training, "add_style", learn)
    return began


def test_a_data_folder_that_cannot_be_written_is_refused_before_learning(
    capsys, tmp_path, monkeypatch, painting_file, no_learning
):
    """It was refused only when the style was saved, after the minutes of learning."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("DEEPPHOTO_DATA_DIR", str(blocker / "deepphoto"))
    refused(capsys, "add-style", painting_file, "--name", "mine", "--steps", "1", says="cannot be written")
    assert not no_learning


def test_a_damaged_style_of_that_name_needs_replace(capsys, data_dir, painting_file, no_learning):
    """A damaged file of that name was silently written over, after the learning."""
    (data_dir / "styles").mkdir(parents=True)
    (data_dir / "styles" / "mine.safetensors").write_bytes(b"damaged")
    refused(capsys, "add-style", painting_file, "--name", "mine", "--steps", "1", says="add --replace")
    assert not no_learning


def test_a_style_another_job_saved_meanwhile_is_not_replaced(data_dir):
    """Two add-style jobs of one name: both said 'added style', the second silently replaced the first."""
    first = save_user_style("twin", shipped_rows(0), sha_of_shipped(), stripes(), {"title": "first"})
    before = first.read_bytes(), first.with_suffix(".jpg").read_bytes()
    with pytest.raises(DeepPhotoError, match="added meanwhile"):
        save_user_style("twin", shipped_rows(1), sha_of_shipped(), stripes(48, 48), {"title": "second"}, replace=False)
    assert (first.read_bytes(), first.with_suffix(".jpg").read_bytes()) == before
    assert sorted(p.name for p in first.parent.iterdir()) == ["twin.jpg", "twin.safetensors"]  # no leftovers
    save_user_style("twin", shipped_rows(1), sha_of_shipped(), stripes(), {"title": "second"}, replace=True)
    assert read_user_style(first).title == "second"
    new = save_user_style("other", shipped_rows(1), sha_of_shipped(), stripes(), {}, replace=False)
    assert read_user_style(new).name == "other"


def test_a_content_photo_changed_since_the_last_run_is_read_anew(tmp_path):
    """The cached copy of an own --content photo was used after the photo changed: the new style
    learnt from photos no longer there."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = folder / "a.png"
    cache = PaintingCache(tmp_path / "cache")
    cv2.imwrite(str(photo), np.full((60, 80, 3), 40, np.uint8))
    (source,) = own_content(folder, 1)
    assert cache.content(source).mean() == pytest.approx(40, abs=2)
    cv2.imwrite(str(photo), np.full((90, 80, 3), 200, np.uint8))
    os.utime(photo, ns=(photo.stat().st_atime_ns, photo.stat().st_mtime_ns + 10**9))
    (source,) = own_content(folder, 1)
    assert cache.content(source).mean() == pytest.approx(200, abs=2)


def test_a_relative_xdg_data_home_is_ignored(monkeypatch, tmp_path):
    """A style added with XDG_DATA_HOME=rel went to ./rel of that moment's folder and vanished from
    'deepphoto styles' run elsewhere (the XDG specification says to ignore a relative path)."""
    from deepphoto.models import user_styles

    monkeypatch.delenv("DEEPPHOTO_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    for relative in ("rel", "~/data"):
        monkeypatch.setenv("XDG_DATA_HOME", relative)
        assert user_styles.data_dir() == tmp_path / ".local" / "share" / "deepphoto"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_styles.data_dir() == tmp_path / "xdg" / "deepphoto"


def test_the_optimiser_refuses_a_blend_in_one_line_before_any_work(capsys, tmp_path) -> None:
    """It took 'wave:0.5,udnie:0.5' for one style's name ('unknown style ...')."""
    import cv2
    import numpy as np

    from deepphoto.commands.cli import main

    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), np.full((64, 48, 3), 120, np.uint8))
    status = main(
        ["edit", str(photo), str(tmp_path / "o.png"), "--method", "optimize", "--style", "wave:0.5,udnie:0.5"]
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 2 and "the optimiser paints one style" in line
    assert not (tmp_path / "o.png").exists()


def test_the_optimiser_names_the_users_own_styles_when_a_name_is_unknown(monkeypatch) -> None:
    from types import SimpleNamespace

    import pytest

    import deepphoto.models.shipped as shipped
    from deepphoto import optimizer
    from deepphoto.errors import DeepPhotoError

    monkeypatch.setattr(shipped, "user_styles_for", lambda *a, **k: [SimpleNamespace(name="my-mural")])
    monkeypatch.setattr(optimizer, "user_painting", lambda style: None)
    with pytest.raises(DeepPhotoError, match="unknown style 'nosuch'.*or one of yours: my-mural"):
        optimizer.shipped_grams("nosuch")


def test_a_style_saved_meanwhile_keeps_its_painting_too(data_dir, monkeypatch):
    """The second job's check came before the first job's save (the race the check cannot see):
    its link failed and it stopped, but only after replacing the first style's painting (a review)."""
    import deepphoto.models.user_styles as user_styles

    first = save_user_style("twin", shipped_rows(0), sha_of_shipped(), stripes(), {"title": "first"})
    before = first.read_bytes(), first.with_suffix(".jpg").read_bytes()
    monkeypatch.setattr(user_styles.os.path, "lexists", lambda path: False)  # as if not saved yet
    with pytest.raises(DeepPhotoError, match="added meanwhile"):
        save_user_style("twin", shipped_rows(1), sha_of_shipped(), stripes(48, 48), {"title": "second"}, replace=False)
    monkeypatch.undo()
    assert (first.read_bytes(), first.with_suffix(".jpg").read_bytes()) == before
    assert sorted(p.name for p in first.parent.iterdir()) == ["twin.jpg", "twin.safetensors"]  # no leftovers
