"""A folder of images played by ``run``: a warning that holds for many of its images is said once,
then counted, not printed for every frame (a folder of 300 scanned multi-page TIFFs)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from deepphoto.stream.sources import ImageFiles


def _tiff(path: Path, pages: int) -> Path:
    frames = [Image.new("L", (32, 24), 60 * i) for i in range(pages)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def test_several_pages_said_once_then_counted(tmp_path, capsys):
    paths = [_tiff(tmp_path / f"scan{i:02d}.tif", 2 + i % 3) for i in range(6)]
    frames = list(ImageFiles(paths))
    assert len(frames) == 6
    err = capsys.readouterr().err.splitlines()
    said = [line for line in err if "only the first is used" in line and "more images" not in line]
    assert len(said) == 1 and "scan00.tif" in said[0] and "a TIFF of 2 pages" in said[0]
    assert [line for line in err if "more images" in line] == [
        "deepphoto: warning: 5 more images: a TIFF of N pages: only the first is used"
    ]


def test_one_image_one_line(tmp_path, capsys):
    list(ImageFiles([_tiff(tmp_path / "one.tif", 3), _tiff(tmp_path / "two.tif", 1)]))
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "one.tif: a TIFF of 3 pages: only the first is used" in err[0]
