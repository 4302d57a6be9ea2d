"""Photos a new user hands ``edit`` (a bug hunt): too large for memory, GIF and grey-PNG
transparency, animations named as photos, formats with a size limit, a killed writer's leftovers."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import MAX_PHOTO_PIXELS, read_image_alpha
from deepphoto.image_header import image_size
from deepphoto.stream.animation import has_frames
from deepphoto.stream.output_safety import NAME_MAX, STALE_AFTER, temporary_name
from deepphoto.stream.sinks import check_encodable, write_image_atomic


def claiming_png(path: Path, width: int, height: int) -> None:
    """A small PNG whose header claims ``width`` x ``height`` (a decompression bomb's header)."""
    ok, buf = cv2.imencode(".png", np.zeros((8, 8), np.uint8))
    data = bytearray(buf.tobytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


def test_a_photo_larger_than_painted_is_refused_by_its_header(tmp_path: Path) -> None:
    """40000x40000 pixels fit in a 2 MB PNG: OpenCV raised its own assertion (a traceback), and a
    30000x30000 one ran out of memory after 40 s. The header says the size before any decoding."""
    bomb = tmp_path / "bomb.png"
    claiming_png(bomb, 40000, 40000)
    assert image_size(bomb.read_bytes()) == ("PNG", 40000, 40000)
    with pytest.raises(DeepPhotoError, match=r"40000x40000 pixels \(1600 megapixels\) is more than"):
        read_image_alpha(bomb)
    side = int(MAX_PHOTO_PIXELS**0.5) - 1
    claiming_png(bomb, side, side)  # under the limit: decoded (and found damaged: 8x8 of data)
    with pytest.raises(DeepPhotoError, match="not a readable image|cannot be decoded"):
        read_image_alpha(bomb)


def test_headers_give_the_size_of_every_kind(tmp_path: Path) -> None:
    image = np.zeros((30, 50, 3), np.uint8)
    for suffix, kind in ((".jpg", "JPEG"), (".png", "PNG"), (".webp", "WebP"), (".bmp", "BMP"), (".tif", "TIFF")):
        ok, buf = cv2.imencode(suffix, image)
        assert image_size(buf.tobytes()) == (kind, 50, 30), suffix
    Image.fromarray(image).save(tmp_path / "a.gif")
    assert image_size((tmp_path / "a.gif").read_bytes()) == ("GIF", 50, 30)
    assert image_size(b"not an image at all") is None


def test_gif_transparency_is_kept(tmp_path: Path) -> None:
    """A GIF's transparent pixels came out as a block of the colour stored under them."""
    pixels = np.full((40, 60), 1, np.uint8)
    pixels[:, :20] = 0  # palette index 0: transparent
    gif = Image.fromarray(pixels, "P")
    gif.putpalette([230, 130, 60, 20, 90, 200] + [0] * 762)
    gif.save(tmp_path / "t.gif", transparency=0)
    colour, alpha = read_image_alpha(tmp_path / "t.gif")
    assert alpha is not None and alpha[:, :20].max() == 0 and alpha[:, 20:].min() == 255
    assert colour[:, :20].min() == 255  # on white, not orange
    np.testing.assert_array_equal(colour[0, 30], [200, 90, 20])  # BGR of palette entry 1


def test_grey_png_colour_key_is_transparent(tmp_path: Path) -> None:
    """OpenCV ignores a grey PNG's tRNS chunk (one grey level made clear); it is applied here."""
    grey = np.full((30, 20), 120, np.uint8)
    grey[:10] = 7
    Image.fromarray(grey, "L").save(tmp_path / "k.png", transparency=7)
    colour, alpha = read_image_alpha(tmp_path / "k.png")
    assert alpha is not None and alpha[:10].max() == 0 and alpha[10:].min() == 255
    assert colour[:10].min() == 255 and colour[20, 5, 0] == 120


def test_an_animation_is_told_by_its_content_not_its_name(tmp_path: Path) -> None:
    frames = [Image.fromarray(np.full((20, 30, 3), v, np.uint8)) for v in (0, 128, 255)]
    frames[0].save(tmp_path / "moving.jpg", format="GIF", save_all=True, append_images=frames[1:], duration=100)
    frames[0].save(tmp_path / "still.gif")
    if not hasattr(cv2, "imdecodeanimation"):
        pytest.skip("this OpenCV decodes no animations")
    assert has_frames(tmp_path / "moving.jpg")
    assert not has_frames(tmp_path / "still.gif")


def test_a_format_too_small_for_the_photo_is_refused_before_the_work(tmp_path: Path) -> None:
    with pytest.raises(DeepPhotoError, match="at most 16383 pixels a side"):
        check_encodable(tmp_path / "wide.webp", 20000, 10)
    with pytest.raises(DeepPhotoError, match="at most 65500 pixels a side"):
        check_encodable(tmp_path / "wide.JPG", 10, 70000)
    check_encodable(tmp_path / "wide.png", 70000, 10)
    with pytest.raises(DeepPhotoError, match="16383"):
        write_image_atomic(tmp_path / "w.webp", np.zeros((4, 16400, 3), np.uint8))
    assert not list(tmp_path.iterdir())


def test_a_killed_writers_temporary_file_is_removed_by_the_next(tmp_path: Path) -> None:
    """SIGKILL (or the kernel's out-of-memory killer) leaves a writer's hidden temporary file; the
    next writer of the same name removes it once its process is gone and it is a minute old."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    from deepphoto.stream.output_safety import _host

    old = time.time() - STALE_AFTER - 5
    host = _host()
    stale = tmp_path / f".photo.{gone.pid}-1-abcdef-{host}.partial.png"
    recent = tmp_path / f".photo.{gone.pid}-2-abcdef-{host}.partial.png"
    running = tmp_path / f".photo.{os.getpid()}-3-abcdef-{host}.partial.png"  # a writer still at work
    other = tmp_path / f".photo2.{gone.pid}-1-abcdef-{host}.partial.png"  # another output's
    elsewhere = tmp_path / f".photo.{gone.pid}-4-abcdef-000000.partial.png"  # another machine's writer
    odd = tmp_path / f".photo.\u00b2-1-ab-{host}.partial.png"  # a digit int() does not read
    for path in (stale, recent, running, other, elsewhere, odd):
        path.write_bytes(b"x")
    for path in (stale, running, other, elsewhere, odd):
        os.utime(path, (old, old))
    temporary_name(tmp_path / "photo.png")
    assert not stale.exists()
    assert recent.exists() and running.exists() and other.exists() and elsewhere.exists() and odd.exists()


def test_review_mends_of_the_photo_fixes(tmp_path: Path) -> None:
    """A review of the fixes above: a text starting with "BM" is no bitmap claiming billions of
    pixels; a large TIFF's directory at the file's end is read before decoding; a GIF is never
    turned by stray EXIF-like bytes; a 1-bit grey PNG's colour key applies."""
    text = tmp_path / "BMW.txt"
    text.write_bytes(b"BMW service log 2024: oil change at 30000 km\n")
    assert image_size(text.read_bytes()) is None
    with pytest.raises(DeepPhotoError, match="not a readable image"):
        read_image_alpha(text)
    big = np.zeros((40, 50), np.uint8)
    ok, buf = cv2.imencode(".tif", big)
    data = buf.tobytes()
    assert image_size(data) == ("TIFF", 50, 40)
    grey = np.zeros((16, 16), np.uint8)
    grey[:8] = 255
    Image.fromarray(grey, "L").convert("1").save(tmp_path / "g1.png", transparency=1)
    colour, alpha = read_image_alpha(tmp_path / "g1.png")
    assert alpha is not None and alpha[:8].max() == 0 and alpha[8:].min() == 255


def test_a_folder_of_frames_lists_its_folder_once_not_per_frame(tmp_path: Path, monkeypatch) -> None:
    """The sweep listed the folder for every file written (quadratic for a folder of frames)."""
    from deepphoto.stream import output_safety

    listed: list[Path] = []
    real = Path.iterdir

    def counting(self: Path):  # type: ignore[no-untyped-def]
        listed.append(self)
        return real(self)

    monkeypatch.setattr(Path, "iterdir", counting)
    for i in range(20):
        write_image_atomic(tmp_path / f"frame-{i:03d}.png", np.zeros((4, 4, 3), np.uint8))
    assert listed.count(tmp_path) <= 20  # one per output name at most
    staging = tmp_path / ".frames.1-1-abc-def.partial"
    staging.mkdir()
    listed.clear()
    for _ in range(5):
        write_image_atomic(staging / "frame.png", np.zeros((4, 4, 3), np.uint8))
    assert staging not in listed  # a writer's own staging folder is never swept
    assert output_safety.STALE_AFTER > 0


def test_a_long_valid_output_name_is_written(tmp_path: Path) -> None:
    """A 230-byte name, or 76 Japanese characters (228 bytes), failed as 'File name too long' after
    the painting was done: the temporary name beside it is about 35 bytes longer."""
    from deepphoto.commands.cli import main

    src = tmp_path / "photo.png"
    cv2.imwrite(str(src), np.full((40, 60, 3), 120, np.uint8))
    for name in ("a" * 226 + ".png", "写真" * 38 + ".jpg", "b" * 251 + ".png"):
        assert len(os.fsencode(temporary_name(tmp_path / name).name)) <= NAME_MAX
        assert main(["edit", str(src), str(tmp_path / name), "--effect", "grey"]) == 0
        assert (tmp_path / name).is_file()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
    long_a, long_b = tmp_path / ("写真" * 60 + "a.png"), tmp_path / ("写真" * 60 + "b.png")
    name_a, name_b = temporary_name(long_a).name, temporary_name(long_b).name
    name_a.encode("utf-8")  # whole characters: valid UTF-8, as APFS and ZFS (utf8only) require
    assert name_a.split(".")[1] != name_b.split(".")[1]  # two long names keep apart
    assert name_a.split(".")[1] == temporary_name(long_a).name.split(".")[1]  # every writer of one output alike
    from deepphoto.stream.output_safety import temporary_folder

    folder = temporary_folder(tmp_path / ("f" * 230))  # a folder of frames with a long name
    assert folder.is_dir() and len(os.fsencode(folder.name)) <= NAME_MAX


def test_a_jpeg_that_ends_early_is_read_as_far_as_it_goes(tmp_path: Path, capsys) -> None:
    """A JPEG missing only its last two bytes (viewers show it whole) was 'not a readable image';
    one cut further is read to where it ends, with a warning; one with almost nothing is refused."""
    rng = np.random.default_rng(2)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), (9, 9), 0)
    whole = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    full = read_image_alpha(_write(tmp_path / "whole.jpg", whole))[0]
    got, alpha = read_image_alpha(_write(tmp_path / "no-end.jpg", whole[:-2]))
    assert alpha is None and np.array_equal(got, full)
    assert "ends early" in capsys.readouterr().err
    cut, _ = read_image_alpha(_write(tmp_path / "cut.jpg", whole[: len(whole) * 6 // 10]))
    assert cut.shape == full.shape and np.array_equal(cut[:16], full[:16])  # the top is there
    assert "ends early" in capsys.readouterr().err
    with pytest.raises(DeepPhotoError, match="not a readable image"):
        read_image_alpha(_write(tmp_path / "stub.jpg", whole[:300]))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_edit_says_when_it_finds_no_person(tmp_path: Path, capsys) -> None:
    """`--region person` on a photo without a person wrote it unchanged and said 'wave on the
    person', as if it had worked; now a warning says no person was found. A portrait gets none."""
    from deepphoto.commands.cli import main

    rng = np.random.default_rng(0)
    scenery = tmp_path / "scenery.png"
    cv2.imwrite(str(scenery), cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (31, 31), 0))
    assert main(["edit", str(scenery), str(tmp_path / "a.png"), "--style", "wave", "--region", "person"]) == 0
    assert "no person found; the photo is left as it was" in capsys.readouterr().err
    assert main(["edit", str(scenery), str(tmp_path / "b.png"), "--style", "wave", "--region", "background"]) == 0
    assert "no person found; the photo is painted whole" in capsys.readouterr().err
    import av

    from deepphoto.assets import demo_clip

    portrait = tmp_path / "portrait.png"  # the demo footage's man in his car
    with av.open(str(demo_clip())) as clip:
        cv2.imwrite(str(portrait), next(clip.decode(video=0)).to_ndarray(format="bgr24"))
    assert main(["edit", str(portrait), str(tmp_path / "c.png"), "--style", "wave", "--region", "person"]) == 0
    assert "no person" not in capsys.readouterr().err
