"""Defects earlier hunts left (hunt 35): a ``Pipeline`` held the last photo's full-size alpha after
``pipe.photo`` returned (216 MB for a 54-megapixel photo, for as long as a Studio or batch worker
lived); a film on a server (http://...) lost its subtitle tracks in ``run`` without a word; a TIFF
cut off whose first page is a thumbnail (as cameras write it) was 'not a readable image', where
other photos cut off are read as far as they go and said to end early, and one written as libtiff
writes it (each directory after its picture), cut before its photo's directory, was read as its
thumbnail (a 128x96 photo painted at 32x24) without a word; a thread waiting for another thread
of its program to build an engine was told it waited for 'another DeepPhoto process'; 'deepphoto
run' on an animated PNG (.apng) with a colour profile ended in a segmentation fault, and once it
played, its frames were in their stored numbers, up to 40 levels off the same picture read as a
photo."""

from __future__ import annotations

import functools
import gc
import io
import struct
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from adversarial import DEEPPHOTO, RUN_FAST, cli
from media import make_clip

from deepphoto.engines.cache import EngineKey, key_lock
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import read_image_alpha
from deepphoto.stream.sources import open_source
from tests.test_colour_profile import ADOBE, P3, chart
from tests.test_hunt27_api import _person
from tests.test_hunt32_photos import _tiff_of_pages
from tests.test_hunt32_subtitles import WHOLE_GREY, with_subtitles
from tests.test_hunt33_netstreams import Quiet, serving


def test_a_photo_styled_leaves_no_full_size_alpha_held_yet_its_mask_is_the_one_composited(grey_pipe):
    photo = cv2.resize(_person(), (1200, 900), interpolation=cv2.INTER_LINEAR)
    alpha_bytes = photo.shape[0] * photo.shape[1] * 4
    grey_pipe.photo(_person())  # the pipeline's own first-use allocations made outside the measure
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = grey_pipe.photo(photo)
        held = tracemalloc.get_traced_memory()[0] - before - out.nbytes
    finally:
        tracemalloc.stop()
    assert held < alpha_bytes / 4, f"{held} bytes held after the photo returned (its alpha: {alpha_bytes})"
    alpha = grey_pipe.mask(photo, photo=True)
    assert alpha.shape == photo.shape[:2] and alpha.dtype == np.float32 and alpha.flags.writeable
    grey = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR).astype(np.float32)
    rebuilt = photo * alpha[..., None] + grey * (1 - alpha[..., None])
    assert np.abs(rebuilt - out).max() <= 1.0  # the alpha it was composited with
    assert 0.05 < float((alpha > 0.5).mean()) < 0.95
    alpha[:] = 2  # the caller's own
    assert grey_pipe.mask(photo, photo=True).max() <= 1.0  # asked again: not the caller's changed copy


def test_a_film_on_a_server_says_its_subtitles_are_left_out(capsys, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with_subtitles(make_clip(tmp_path / "plain.mkv", frames=20, audio=True), site / "film.mkv")
    out = tmp_path / "out.mkv"
    with serving(functools.partial(Quiet, directory=str(site))) as url:  # type: ignore[arg-type]
        done = cli(capsys, "run", f"{url}/film.mkv", out, *RUN_FAST, *WHOLE_GREY)
    assert done.status == 0, done.err
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1 and not c.streams.subtitles  # the sound kept, the subtitles not
    said = [line for line in done.err.splitlines() if "subtitle" in line]
    assert len(said) == 1 and "1 subtitle track left out" in said[0] and "server" in said[0], done.err


def _tiff_directories_first(pages: list[tuple[np.ndarray, int]]) -> bytes:
    """A little-endian TIFF of uncompressed RGB ``pages`` (HxWx3 uint8, NewSubfileType) with all its
    directories first and the pictures after them, in order (as a camera writes its thumbnail and
    photo)."""
    size = 2 + 12 * 9 + 4
    bits_at = 8 + len(pages) * size
    at = bits_at + 6
    directories = b""
    for i, (rgb, kind) in enumerate(pages):
        h, w = rgb.shape[:2]
        after = 8 + (i + 1) * size if i + 1 < len(pages) else 0
        entries = [(254, 4, 1, kind), (256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, bits_at), (259, 3, 1, 1)]
        entries += [(262, 3, 1, 2), (273, 4, 1, at), (277, 3, 1, 3), (279, 4, 1, rgb.size)]
        directories += struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
        directories += struct.pack("<I", after)
        at += rgb.size
    return (
        b"II*\x00"
        + struct.pack("<I", 8)
        + directories
        + struct.pack("<3H", 8, 8, 8)
        + b"".join(rgb.tobytes() for rgb, _ in pages)
    )


def _photo() -> np.ndarray:
    rng = np.random.default_rng(35)
    return cv2.GaussianBlur(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), (9, 9), 0)


def test_a_cut_off_tiff_with_a_thumbnail_first_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    photo = _photo()
    data = _tiff_directories_first([(cv2.resize(photo, (32, 24)), 1), (photo, 0)])
    path = tmp_path / "camera.tif"
    path.write_bytes(data)
    assert np.array_equal(read_image_alpha(path, warn=pytest.fail)[0], photo[..., ::-1])  # whole: its picture
    path.write_bytes(data[: len(data) - photo.size // 3])  # its last third cut off
    said: list[str] = []
    image, alpha = read_image_alpha(path, warn=said.append)
    assert said == ["the file ends early (cut off); what it holds is used, the rest blank"]
    assert image.shape == photo.shape and alpha is None
    assert np.array_equal(image[:60], photo[:60, :, ::-1]) and not image[70:].any()  # the part there, the rest blank


def test_a_tiff_cut_before_its_photo_is_not_read_as_its_thumbnail(tmp_path: Path) -> None:
    photo = _photo()
    data = _tiff_of_pages([(cv2.resize(photo, (32, 24)), 1), (photo, 0)])  # each directory after its picture
    path = tmp_path / "scan.tif"
    path.write_bytes(data)
    assert read_image_alpha(path, warn=pytest.fail)[0].shape == photo.shape
    for cut in (len(data) - 50, len(data) - photo.size // 2):  # its directory lost, then half its picture too
        path.write_bytes(data[:cut])
        with pytest.raises(DeepPhotoError, match=r"not a readable image: the file ends early \(cut off\); copy or"):
            read_image_alpha(path, warn=pytest.fail)
    thumbnail_alone = _tiff_of_pages([(cv2.resize(photo, (32, 24)), 1)])  # whole: its one picture, read
    path.write_bytes(thumbnail_alone)
    assert read_image_alpha(path, warn=pytest.fail)[0].shape == (24, 32, 3)


KEY = EngineKey("lightnet", "0" * 64, "onnx", "1.0", "cpu", "int8")


def _waited_for(folder: Path, let_go: threading.Event) -> str:
    """What this thread, taking ``KEY``'s lock in ``folder`` while another holds it, is told (on
    stderr); ``let_go`` is set when it is told, for the holder to let go."""
    told: list[str] = []

    class Told(io.StringIO):
        def write(self, text: str) -> int:
            told.append(text)
            let_go.set()
            return len(text)

    real, sys.stderr = sys.stderr, Told()
    try:
        with key_lock(folder, KEY):
            pass
    finally:
        sys.stderr = real
    return "".join(told)


def test_a_thread_waiting_for_an_engine_is_told_who_builds_it(tmp_path: Path) -> None:
    held, let_go = threading.Event(), threading.Event()

    def builder() -> None:
        with key_lock(tmp_path, KEY):
            held.set()
            let_go.wait(60)

    thread = threading.Thread(target=builder)
    thread.start()
    held.wait(60)
    told = _waited_for(tmp_path, let_go)
    thread.join()
    assert told.startswith("deepphoto: waiting for another thread of this program building lightnet-"), told

    lock = tmp_path / f".{KEY.stem}.lock"
    holder = "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX); "
    holder += "print('held', flush=True); sys.stdin.read()"
    other = subprocess.Popen([sys.executable, "-c", holder, str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert other.stdout is not None and other.stdout.readline() == b"held\n"
        let_go = threading.Event()

        def release() -> None:  # when told (or after a minute: no hang where nothing is said)
            let_go.wait(60)
            other.stdin.close()  # type: ignore[union-attr]

        threading.Thread(target=release).start()
        told = _waited_for(tmp_path, let_go)
    finally:
        other.kill()
        other.wait()
    assert told.startswith("deepphoto: waiting for another DeepPhoto process building lightnet-"), told


def _apng(path: Path, profile: bytes) -> Path:
    """An animated PNG of two frames of ``chart`` (the second mirrored) embedding ``profile``."""
    from PIL import Image

    picture = chart()
    frames = [Image.fromarray(picture), Image.fromarray(np.ascontiguousarray(picture[:, ::-1]))]
    frames[0].save(path, "PNG", save_all=True, append_images=frames[1:], duration=100, icc_profile=profile)
    return path


def test_an_animated_png_with_a_colour_profile_is_played_without_a_crash(tmp_path: Path) -> None:
    animation = _apng(tmp_path / "anim.apng", P3)
    out = tmp_path / "out.mp4"
    done = subprocess.run(
        [*DEEPPHOTO, "run", animation, out, *RUN_FAST, *WHOLE_GREY], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # was -11: a segmentation fault
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) >= 2


@pytest.mark.parametrize("profile", [P3, ADOBE], ids=["display-p3", "adobe-rgb"])
def test_an_animated_png_read_as_a_video_is_in_its_colour_profile(tmp_path: Path, profile: bytes) -> None:
    from PIL import Image

    still = tmp_path / "still.png"
    Image.fromarray(chart()).save(still, icc_profile=profile)
    photo = read_image_alpha(still, warn=pytest.fail)[0]
    assert np.abs(photo.astype(int) - chart()[..., ::-1]).max() > 20  # a profile that moves its colours
    source = open_source(str(_apng(tmp_path / "anim.apng", profile)))
    try:
        played = [frame.image for frame in source]
    finally:
        source.close()
    assert len(played) == 2
    assert np.abs(played[0].astype(int) - photo).max() <= 1  # as the photo is read (was 40 off)
    assert np.abs(played[1].astype(int) - photo[:, ::-1]).max() <= 1
