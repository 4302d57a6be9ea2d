"""Review 31d of hunt 31's paintings and phone-photos fixes.

- a user style replaced (``add-style --replace``, or removed and added again under its name) while
  the Studio runs still painted as the style it replaced, and its gallery picture was the old one:
  hunt 31 opened the style network again only when the styles' names changed, the Studio's gallery
  kept its pictures by name, and the page asked for them at the same address (kept an hour);
- a camera's JPEG (EXIF, no JFIF marker) turned by an XMP orientation alone was still turned when
  cut off, and read as stored when whole (hunt 31 meant neither).
"""

from __future__ import annotations

import contextlib
import io
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_hunt23_user_styles import shipped_rows, write_style

from deepphoto.frames import read_image_alpha
from deepphoto.pipeline import Pipeline
from deepphoto.settings import Settings
from deepphoto.web.store import Uploads


def textured(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    noise = np.random.default_rng(31).integers(0, 60, (h, w, 3))
    return np.clip(np.dstack([x * 3, y * 3, (x + y) * 2]) + noise, 0, 255).astype(np.uint8)


@contextlib.contextmanager
def mine_from_row_0(styles: Path) -> Iterator[Pipeline]:
    """A pipeline painting the user style 'mine', written with the shipped network's row 0."""
    write_style(styles, "mine", shipped_rows(0))
    settings = Settings(style="mine", region="whole", threads=1, backend="onnx", precision="fp32")
    with Pipeline(settings) as pipe:
        yield pipe


@pytest.mark.parametrize("switch", [False, True])
def test_a_style_replaced_while_a_pipeline_runs_paints_as_its_new_rows(data_dir, switch):
    """The Studio's photo page asks for the same style again (``switch`` False), or the user
    chooses another and comes back to it."""
    styles, picture = data_dir / "styles", textured(64, 80)
    with mine_from_row_0(styles) as pipe:
        first = pipe.photo(picture).astype(int)
        if switch:
            pipe.update(style="wave")
        write_style(styles, "mine", shipped_rows(2))  # add-style --replace, the Studio running
        pipe.update(style="mine")
        replaced = pipe.photo(picture).astype(int)
        pipe.update(style="wave")  # shipped row 2
        wave = pipe.photo(picture).astype(int)
        assert np.abs(replaced - wave).max() <= 1, np.abs(replaced - first).max()  # its new rows
        assert np.abs(first - wave).mean() > 5


def test_a_style_removed_while_it_paints_paints_on_until_another_is_chosen(data_dir):
    styles, picture = data_dir / "styles", textured(64, 80)
    with mine_from_row_0(styles) as pipe:
        first = pipe.photo(picture).astype(int)
        (styles / "mine.safetensors").unlink()  # remove-style, the Studio running
        pipe.update(threshold=0.6)
        assert np.abs(pipe.photo(picture).astype(int) - first).max() <= 1


def test_the_studio_gallery_paints_a_style_replaced_while_it_runs(data_dir, tmp_path):
    from deepphoto.web.photo import PhotoStudio

    write_style(data_dir / "styles", "mine", shipped_rows(0))
    studio = PhotoStudio(Settings(threads=1, backend="onnx", precision="fp32"), Uploads(tmp_path / "up"))
    try:
        before = studio.thumbnails()
        write_style(data_dir / "styles", "mine", shipped_rows(2))  # add-style --replace, the Studio running
        after = studio.thumbnails()
        assert after["mine"] != before["mine"]
        assert after["wave"] == before["wave"]  # the others are not painted again
    finally:
        studio.close()


def test_the_studio_page_asks_for_a_replaced_styles_new_gallery_picture(data_dir):
    """The gallery picture is sent to be kept an hour: under the same address the page showed the
    replaced style's old picture."""
    from pathlib import Path

    import deepphoto.web
    from deepphoto.web import gallery

    write_style(data_dir / "styles", "mine", shipped_rows(0))
    before = {s["name"]: s["version"] for s in gallery.styles()}
    write_style(data_dir / "styles", "mine", shipped_rows(2))
    after = {s["name"]: s["version"] for s in gallery.styles()}
    assert after["mine"] and after["mine"] != before["mine"] and after["wave"] == before["wave"] == ""
    page = (Path(deepphoto.web.__file__).parent / "static" / "app.js").read_text()
    assert "thumb.jpg${s.version ? `?v=${s.version}`" in page


def test_a_camera_jpeg_turned_by_its_xmp_alone_is_read_alike_whole_or_cut_off(tmp_path):
    """A camera's JPEG holds EXIF without a JFIF marker: Pillow read its EXIF as it opened it (for
    its resolution), the XMP packet's tiff:Orientation taken in, so hunt 31's cut-off reader still
    turned it (as no viewer does) while the whole one was read as stored."""
    picture = np.zeros((40, 80, 3), np.uint8)
    picture[:, :40] = 255
    exif = Image.Exif()
    exif[0x010F], exif[0x011A], exif[0x011B], exif[0x0128] = "Camera", 72.0, 72.0, 2  # no orientation
    stored = io.BytesIO()
    Image.fromarray(picture).save(stored, "JPEG", quality=95, exif=exif.tobytes())
    xmp = (
        b'http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
        b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff='
        b'"http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
    )
    data = stored.getvalue()
    assert data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\0"
    data = data[:2] + data[4 + int.from_bytes(data[4:6], "big") :]  # as a camera writes it: no JFIF marker
    data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp + data[2:]
    (tmp_path / "whole.jpg").write_bytes(data)
    (tmp_path / "cut.jpg").write_bytes(data[:-2])  # its end marker missing
    whole = read_image_alpha(tmp_path / "whole.jpg")[0]
    cut = read_image_alpha(tmp_path / "cut.jpg", warn=lambda _: None)[0]
    assert whole.shape[:2] == cut.shape[:2] == (40, 80)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
