"""AVIF photos (phones save them): read upright as their irot/imir boxes say, with their alpha,
sized by their header, and taken by a folder source and by batch like any photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepphoto.batch.inputs import kind_of, readable_image
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import read_image, read_image_alpha
from deepphoto.image_header import image_size
from deepphoto.stream.sources import ImageFiles, open_source


def avif(path: Path, rgba: np.ndarray, orientation: int = 1) -> Path:
    """``rgba`` (height x width x 3 or 4, RGB order) saved as AVIF; Pillow stores an EXIF
    orientation as the irot/imir boxes a phone writes."""
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    Image.fromarray(rgba).save(path, exif=exif.tobytes(), quality=95)
    return path


def halves(h: int = 60, w: int = 100) -> np.ndarray:
    image = np.zeros((h, w, 3), np.uint8)
    image[:, : w // 2] = (255, 0, 0)  # left half red, right half black
    return image


def test_an_avif_is_read_upright_as_its_rotation_box_says(tmp_path: Path) -> None:
    path = avif(tmp_path / "phone.avif", halves(), orientation=6)  # stored landscape, shown turned 90 degrees
    assert b"irot" in path.read_bytes()
    image = read_image(path)
    assert image.shape == (100, 60, 3)  # portrait, as a viewer shows it
    top, bottom = image[:40].reshape(-1, 3).mean(0), image[60:].reshape(-1, 3).mean(0)
    assert top[2] > 200 and top[:2].max() < 40  # the red half is on top (BGR)
    assert bottom.max() < 40
    upright = read_image(avif(tmp_path / "upright.avif", halves()))
    assert upright.shape == (60, 100, 3)


def test_an_avif_with_alpha_keeps_it_and_shows_clear_pixels_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((40, 50, 4), np.uint8)
    rgba[..., 2] = 255  # blue
    rgba[..., 3] = 255
    rgba[:, 25:, 3] = 0  # the right half clear
    colour, alpha = read_image_alpha(avif(tmp_path / "clear.avif", rgba))
    assert alpha is not None and alpha[:, :20].min() > 240 and alpha[:, 30:].max() < 15
    assert colour[:, 30:].min() > 230  # on white
    assert colour[:, :20, 0].mean() > 200 and colour[:, :20, 2].mean() < 40  # blue kept (BGR)


def test_an_avif_header_gives_its_size_and_makes_it_a_photo(tmp_path: Path) -> None:
    path = avif(tmp_path / "p.avif", halves(48, 64))
    assert image_size(path.read_bytes()) == ("AVIF", 64, 48)
    named_otherwise = path.rename(tmp_path / "p.bin")
    assert readable_image(named_otherwise) and kind_of(named_otherwise) == "image"
    assert kind_of(avif(tmp_path / "q.avif", halves())) == "image"


def test_a_folder_of_avif_photos_is_a_source(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        avif(folder / f"{i}.avif", halves(), orientation=6)
    source = open_source(str(folder))
    assert isinstance(source, ImageFiles)
    frames = [f.image for f in source]
    assert len(frames) == 2 and frames[0].shape == (100, 60, 3)


def test_an_mp4_is_not_taken_for_an_avif() -> None:
    mp4_head = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    assert image_size(mp4_head) is None


def test_a_heic_photo_gets_a_message_saying_what_to_do(tmp_path: Path) -> None:
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(range(256)) * 8)
    with pytest.raises(DeepPhotoError, match="HEIC photo.*JPEG"):
        read_image(heic)
    damaged_avif = tmp_path / "cut.avif"
    damaged_avif.write_bytes(avif(tmp_path / "a.avif", halves()).read_bytes()[:60])  # its brand says AVIF
    with pytest.raises(DeepPhotoError, match="not a readable image"):
        read_image(damaged_avif)


def test_an_avif_size_is_read_from_its_boxes_not_from_bytes_in_its_picture(tmp_path: Path) -> None:
    """The size was found by searching the first 4 MB for 'ispe': compressed picture bytes that
    happen to spell it gave a random size (and a 'too large' refusal; a review's finding)."""
    data = avif(tmp_path / "p.avif", np.random.default_rng(0).integers(0, 255, (60, 80, 3), np.uint8)).read_bytes()
    at = data.find(b"mdat") + 40
    spelt = data[:at] + b"ispe" + b"\xff" * 12 + data[at + 16 :]
    assert image_size(spelt) == ("AVIF", 80, 60)
