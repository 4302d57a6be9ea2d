"""User styles in a damaged data folder (bug hunt 23). Each used to go wrong without a word:

- a style file named against the name rule (``a,b.safetensors``, ``x:1.safetensors``) was listed by
  ``styles`` though ``--style a,b`` reads as a blend and can never choose it (and ``remove-style``
  refused it): now it is skipped with a warning that says to rename it;
- a style whose rows do not fit the shipped StyleNet (same ``base``, other shapes) was listed, and
  stopped every style, the shipped ones too, from loading ("no backend could run stylenet"): now it
  is skipped with a warning and ``--style wave`` paints;
- a data folder that is a file, or a styles folder that cannot be read, hid every user style
  ('unknown style'): now a warning names the folder;
- a style file that may not be read was reported as "(FileNotFoundError)": now the reason;
- a pipe named ``*.safetensors`` made ``deepphoto styles`` (and every styled run) wait for ever.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from adversarial import DEEPPHOTO, FAST, cli, write_png
from safetensors import safe_open
from safetensors.numpy import save_file

from deepphoto.assets import sha256_of
from deepphoto.models.shipped import SHIPPED, style_names
from deepphoto.models.user_styles import KIND, save_user_style, user_styles

SHIPPED_NAMES = style_names(SHIPPED["stylenet"])


def shipped_rows(index: int = 0) -> dict[str, np.ndarray]:
    """Style ``index``'s rows of the shipped StyleNet (numpy only: no torch)."""
    with safe_open(str(SHIPPED["stylenet"]), framework="numpy") as f:
        return {
            k: np.asarray(f.get_tensor(k), np.float32)[index]
            for k in f.keys()  # noqa: SIM118
            if k.endswith((".gamma", ".beta"))
        }


def write_style(folder, name: str, rows: dict[str, np.ndarray] | None = None) -> None:
    """A style file as add-style writes it, under any file name (the name rule not applied)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"kind": KIND, "name": name, "base": sha256_of(SHIPPED["stylenet"]), "title": f"after {name}"}
    save_file(rows or shipped_rows(), str(folder / f"{name}.safetensors"), metadata=meta)


@pytest.mark.parametrize("name", ["a,b", "x:1", "Bad_Name", "-dash", "ünï"])
def test_a_style_file_named_against_the_rule_is_skipped_and_says_rename(capsys, data_dir, name):
    write_style(data_dir / "styles", name)
    write_style(data_dir / "styles", "fine")
    done = cli(capsys, "styles")
    assert done.status == 0, done.err
    assert style_names() == [*SHIPPED_NAMES, "fine"]
    assert name not in done.out and "fine" in done.out
    warned = [line for line in done.warnings if f"{name}.safetensors" in line]
    assert warned and "is not a style name" in warned[0] and "rename" in warned[0], done.err


def test_rows_that_do_not_fit_are_skipped_and_the_shipped_styles_still_paint(capsys, data_dir, tmp_path):
    rows = shipped_rows()
    key = next(iter(rows))
    rows[key] = rows[key][:3]
    write_style(data_dir / "styles", "shorty", rows)
    write_style(data_dir / "styles", "fine")
    assert style_names() == [*SHIPPED_NAMES, "fine"]
    assert "'shorty': its rows do not fit the shipped StyleNet" in capsys.readouterr().err
    photo = write_png(tmp_path / "photo.png", np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8))
    out = tmp_path / "out.png"
    done = cli(capsys, "edit", photo, out, *FAST, "--style", "wave")
    assert done.status == 0 and out.is_file(), done.err


def test_a_data_folder_that_is_a_file_is_named_in_a_warning(capsys, tmp_path, monkeypatch):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file, not a folder")
    monkeypatch.setenv("DEEPPHOTO_DATA_DIR", str(not_a_folder))
    assert user_styles() == []
    err = capsys.readouterr().err
    assert f"{not_a_folder / 'styles'}: cannot be read" in err and "DEEPPHOTO_DATA_DIR" in err, err


def test_no_styles_folder_yet_is_no_warning(capsys, data_dir):
    assert user_styles() == []
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any folder or file")
def test_an_unreadable_styles_folder_and_file_say_permission(capsys, data_dir):
    folder = data_dir / "styles"
    write_style(folder, "mine")
    (folder / "mine.safetensors").chmod(0)
    try:
        assert user_styles() == []
        err = capsys.readouterr().err
        assert "mine.safetensors: not a readable user style (Permission denied)" in err, err
        folder.chmod(0)
        assert user_styles() == []
        assert f"{folder}: cannot be read (Permission denied)" in capsys.readouterr().err
    finally:
        folder.chmod(0o755)
        (folder / "mine.safetensors").chmod(0o644)


def test_a_pipe_or_folder_named_as_a_style_is_skipped_not_waited_on(data_dir):
    folder = data_dir / "styles"
    write_style(folder, "fine")
    os.mkfifo(folder / "pipe.safetensors")
    (folder / "dir.safetensors").mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        done = subprocess.run([*DEEPPHOTO, "styles"], capture_output=True, text=True, timeout=120, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("'deepphoto styles' waited on a pipe in the styles folder")
    assert done.returncode == 0, done.stderr
    assert "fine" in done.stdout
    assert "pipe.safetensors: not a user style (not a regular file)" in done.stderr
    assert "dir.safetensors: not a user style (not a regular file)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_writers_hidden_temporary_file_is_not_warned_about(capsys, data_dir):
    """What ``save_user_style`` writes under a hidden name first (or a killed add-style left) is
    not a style: no warning that it is damaged or misnamed."""
    save_user_style("fine", shipped_rows(), sha256_of(SHIPPED["stylenet"]), np.zeros((8, 8, 3), np.uint8), {})
    (data_dir / "styles" / ".fine.123.partial.safetensors").write_bytes(b"half")
    assert [s.name for s in user_styles()] == ["fine"]
    assert capsys.readouterr().err == ""


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
