"""``run folder/`` on a phone's folder: its HEIC photos, and files of kinds a folder input does not
play (a video, notes), were left out without a word. A HEIC is now skipped with its reason, as an
unreadable image is, said once and then counted (a folder of 300 iPhone photos: two lines); the
other files are named in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from adversarial import RUN_FAST, cli, write_png

from deepphoto.stream.sources import open_source

# What makes a HEIC by its first bytes (the ``ftyp`` box of an iPhone's photo); no decoder reads it.
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def _phone_folder(tmp_path: Path, heics: int) -> Path:
    folder = tmp_path / "phone"
    folder.mkdir()
    write_png(folder / "IMG_0000.png", np.full((24, 32, 3), 128, np.uint8))
    for i in range(1, heics + 1):
        (folder / f"IMG_{i:04d}.HEIC").write_bytes(HEIC_HEAD)
    (folder / "notes.txt").write_text("not a picture")
    (folder / ".DS_Store").write_bytes(b"hidden")  # hidden: not said
    return folder


def test_a_folders_heic_photos_are_said_once_then_counted(tmp_path, capsys):
    source = open_source(str(_phone_folder(tmp_path, heics=3)))
    frames = list(source)
    assert len(frames) == 1 and source.unreadable == 3
    err = capsys.readouterr().err.splitlines()
    heic = [line for line in err if "a HEIC photo" in line]
    assert len(heic) == 2, err
    assert "IMG_0001.HEIC: a HEIC photo, which DeepPhoto does not read: save it as JPEG" in heic[0]
    assert heic[0].endswith("; skipped") and heic[1].startswith("deepphoto: warning: 2 more images: a HEIC photo")
    other = [line for line in err if "left out" in line]
    assert other == [f"deepphoto: warning: {tmp_path / 'phone'}: 1 file that is not a photo left out: notes.txt"]
    assert not any(".DS_Store" in line for line in err)


def test_run_on_the_folder_says_what_it_skipped(tmp_path, capsys):
    folder = _phone_folder(tmp_path, heics=1)
    out = tmp_path / "out.png"
    result = cli(capsys, "run", folder, out, *RUN_FAST, "--effect", "grey", "--region", "whole")
    assert result.status == 0 and not result.errors, result.err
    assert any("IMG_0001.HEIC: a HEIC photo" in w for w in result.warnings), result.err
    assert any("notes.txt" in w for w in result.warnings), result.err
    assert "1 unreadable image skipped" in result.out
    assert out.is_file()
