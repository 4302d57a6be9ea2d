"""Odd inputs: turned photos and phone videos, file names that are not UTF-8, damaged and cut
files, sources that are not what they claim, finite files over HTTP, masks in other formats.
Each case checks the exit status, the one line said, no traceback and what was written."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from adversarial import (
    DEEPPHOTO,
    FAST,
    RUN_FAST,
    cli,
    jpeg_with_orientation,
    leftovers,
    marked_picture,
    read_png,
    refused,
    write_png,
)
from conftest import SHARED, needs_shared
from media import b_frame_avi, cut_mp4, encode_into, make_clip, probe, silence, stream_end, ts_part

from deepphoto.datasets import person_mask, read_mask
from deepphoto.errors import DeepPhotoError

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]  # the picture itself, turned or not, without a mask


def first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as c:
        return next(c.decode(video=0))


# ---------------------------------------------------------------- orientation


@pytest.mark.parametrize(
    "orientation,shape,white",
    [
        (6, (60, 40), "top"),  # phones held upright: stored on its side, 'turn 90 degrees clockwise'
        (8, (60, 40), "bottom"),  # turn 90 degrees counter-clockwise
        (3, (40, 60), "right"),  # upside down
        (1, (40, 60), "left"),  # as stored
    ],
)
def test_photo_exif_orientation_is_applied(capsys, tmp_path, orientation, shape, white):
    photo = jpeg_with_orientation(tmp_path / "phone.jpg", marked_picture(60, 40), orientation)
    out = tmp_path / "out.png"
    result = cli(capsys, "edit", photo, out, *FAST, *WHOLE_GREY)
    assert result.status == 0 and not result.errors
    img = read_png(out)
    assert img.shape[:2] == shape  # upright: as a photo viewer shows it
    h, w = img.shape[:2]
    edge = {
        "top": img[: h // 6],
        "bottom": img[-h // 6 :],
        "left": img[:, : w // 6],
        "right": img[:, -w // 6 :],
    }[white]
    assert edge.mean() > 200 and img[h // 2 - 2 : h // 2 + 2, w // 2 - 2 : w // 2 + 2].mean() < 150


def test_photos_of_a_folder_are_turned_too(capsys, tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    jpeg_with_orientation(src / "a.jpg", marked_picture(60, 40), 6)
    out = tmp_path / "out"
    result = cli(capsys, "run", src, f"{out}/", *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0
    assert read_png(out / "a.png").shape[:2] == (60, 40)


def rotated_clip(path: Path, degrees: int, hflip: bool = False, frames: int = 6) -> Path:
    """A clip stored 64x32 (white bar on the left) whose display matrix turns it, as phones record."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 32, "yuv420p"
        v.set_display_rotation(degrees, hflip=hflip)
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(marked_picture(64, 32), format="bgr24")
            f.pts, f.time_base = i, Fraction(1, 25)
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return path


@pytest.mark.parametrize(
    "suffix,degrees,hflip,size,white",
    [
        (".mp4", 90, False, (32, 64), "bottom"),  # counter-clockwise: the left edge goes down
        (".mkv", 90, False, (32, 64), "bottom"),
        (".mov", -90, False, (32, 64), "top"),
        (".mp4", 180, False, (64, 32), "right"),
        (".mp4", 0, True, (64, 32), "right"),  # a mirrored selfie camera
    ],
)
def test_phone_video_rotation_is_applied(capsys, tmp_path, suffix, degrees, hflip, size, white):
    src = rotated_clip(tmp_path / f"phone{suffix}", degrees, hflip)
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", src, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0 and not result.errors
    got = probe(out)
    assert got["frames"] == 6 and got["size"] == size  # written upright, so segmented upright too
    frame = first_frame(out)
    assert frame.rotation == 0  # no matrix left for players to apply a second time
    img = frame.to_ndarray(format="bgr24")
    h, w = img.shape[:2]
    edge = {"top": img[:4], "bottom": img[-4:], "left": img[:, :4], "right": img[:, -4:]}[white]
    assert edge.mean() > 200 and img[h // 2, w // 2].mean() < 150


# ---------------------------------------------------------------- names that are not UTF-8

needs_byte_names = pytest.mark.skipif(
    sys.platform == "darwin" or os.name == "nt", reason="file names here must be valid Unicode"
)
BAD = os.fsdecode(b"caf\xe9-\xff")  # Latin-1 bytes: not UTF-8; Python holds them as surrogates


def deepphoto(*argv: object, timeout: float = 240) -> subprocess.CompletedProcess:
    """The console script in a process of its own: a crash (a segmentation fault) fails the test
    instead of ending the test run."""
    return subprocess.run(
        [*DEEPPHOTO, *map(str, argv)], capture_output=True, text=True, errors="replace", timeout=timeout
    )


@needs_byte_names
def test_folder_with_names_that_are_not_utf8(tmp_path):
    src = tmp_path / f"in-{BAD}"
    src.mkdir()
    write_png(src / f"{BAD}.png", marked_picture(40, 30))
    ok, buf = cv2.imencode(".jpg", marked_picture(40, 30))
    (src / f"{BAD}-2.jpg").write_bytes(buf.tobytes())
    write_png(src / "plain.png", marked_picture(40, 30))
    out = tmp_path / f"out-{BAD}"
    done = deepphoto("run", src, f"{out}/", *RUN_FAST, "--effect", "grey")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in out.glob("*.png")) == sorted([f"{BAD}.png", f"{BAD}-2.png", "plain.png"])


@needs_byte_names
def test_photo_and_video_named_in_bytes(tmp_path):
    photo = write_png(tmp_path / f"{BAD}.png", marked_picture(40, 30))
    out = tmp_path / f"{BAD}-out.jpg"
    done = deepphoto("edit", photo, out, *FAST, "--effect", "grey")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert cv2.imdecode(np.fromfile(out, np.uint8), cv2.IMREAD_COLOR).shape == (30, 40, 3)
    clip = make_clip(tmp_path / f"{BAD}.mkv", frames=4)
    video_out = tmp_path / f"{BAD}-out.mp4"
    done = deepphoto("run", clip, video_out, *RUN_FAST, "--effect", "grey")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert probe(video_out)["frames"] == 4


@needs_byte_names
@pytest.mark.slow
def test_eval_seg_with_names_that_are_not_utf8(tmp_path):
    data = tmp_path / "d"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    write_png(data / "images" / f"{BAD}.png", marked_picture(64, 48))
    write_png(data / "masks" / f"{BAD}.png", np.zeros((48, 64), np.uint8))
    done = deepphoto("eval-seg", data, "--input-size", "64x64", "--threads", "1")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "images      1" in done.stdout


# ---------------------------------------------------------------- damaged and cut files


def test_cut_mkv_warns_and_keeps_what_it_could_read(capsys, tmp_path):
    whole = make_clip(tmp_path / "whole.mkv", frames=30, size=(64, 48))
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", cut, out, *RUN_FAST, "--effect", "grey")
    assert result.status == 0 and not result.errors
    assert len(result.warnings) == 1 and "cut short or damaged" in result.warnings[0]
    assert 5 < probe(out)["frames"] < 30


def test_cut_mp4_with_its_index_first_warns_too(capsys, tmp_path):
    cut = cut_mp4(tmp_path)
    out = tmp_path / "out.mkv"
    result = cli(capsys, "run", cut, out, *RUN_FAST, "--effect", "grey")
    assert result.status == 0 and not result.errors
    assert any("cut short or damaged" in w for w in result.warnings)
    assert 0 < probe(out)["frames"] < 40


def test_intact_clip_with_a_longer_audio_track_does_not_warn(capsys, tmp_path):
    clip = make_clip(tmp_path / "a.mkv", frames=12, size=(64, 48), audio=True)
    result = cli(capsys, "run", clip, tmp_path / "out.mkv", *RUN_FAST, "--effect", "grey")
    assert result.status == 0 and result.warnings == []


def garbled(path: Path) -> Path:
    """The clip with everything after its header replaced by noise: it opens, no frame decodes."""
    data = bytearray(path.read_bytes())
    start = data.find(bytes([0x1F, 0x43, 0xB6, 0x75])) + 40  # Matroska's first cluster
    data[start:] = np.random.default_rng(1).integers(0, 256, len(data) - start, np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def test_video_with_no_decodable_frame_is_an_error(capsys, tmp_path):
    bad = garbled(make_clip(tmp_path / "bad.mkv", frames=10))
    out = tmp_path / "out.mp4"
    refused(capsys, "run", bad, out, *RUN_FAST, "--effect", "grey", says="no frame could be decoded")
    assert not out.exists() and leftovers(tmp_path) == []


def test_background_video_with_no_decodable_frame_is_an_error_at_start(capsys, tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=4)
    background = garbled(make_clip(tmp_path / "beach.mkv", frames=10))
    out = tmp_path / "out.mp4"
    refused(
        capsys,
        *("run", clip, out, *RUN_FAST, "--effect", "replace", "--background", background),
        says="background video has no frame that can be decoded",
    )
    assert not out.exists() and leftovers(tmp_path) == []


def test_background_that_does_not_exist(capsys, tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=4)
    out = tmp_path / "out.mp4"
    refused(
        capsys,
        *("run", clip, out, *RUN_FAST, "--effect", "replace", "--background", tmp_path / "none.mp4"),
        says="none.mp4: no such file",
    )
    assert not out.exists()


def test_audio_only_file(capsys, tmp_path):
    src = tmp_path / "talk.mkv"
    with av.open(str(src), "w") as c:
        a = c.add_stream("aac", rate=44100)
        a.layout = "mono"
        encode_into(c, a, (silence(44100, start) for start in range(0, 44100, 1024)))
    refused(capsys, "run", src, tmp_path / "out.mp4", *RUN_FAST, says="has no video stream")
    assert not (tmp_path / "out.mp4").exists()


def test_folder_whose_images_are_all_unreadable(capsys, tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    (src / "a.png").write_bytes(b"not a png")
    (src / "b.jpg").mkdir()  # a folder named like an image
    out = tmp_path / "out"
    result = refused(capsys, "run", src, f"{out}/", *RUN_FAST, says="no frame could be decoded")
    assert len(result.warnings) == 2  # each skipped image named once
    assert not out.exists() and leftovers(tmp_path) == []


needs_animation = pytest.mark.skipif(
    not hasattr(cv2, "imdecodeanimation"), reason="this OpenCV (before 4.11) cannot read animated images"
)


@needs_animation
@pytest.mark.parametrize("suffix", [".webp", ".png"])
def test_animated_image_is_read_whole_with_its_timing(capsys, tmp_path, suffix):
    anim = cv2.Animation()
    anim.frames = [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(5)]
    anim.durations = [100, 100, 300, 100, 100]  # one frame held three times as long
    ok, data = cv2.imencodeanimation(suffix, anim)
    assert ok
    src, out = tmp_path / f"anim{suffix}", tmp_path / "out.mp4"
    src.write_bytes(data.tobytes())
    result = cli(capsys, "run", src, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert [round(float(f.pts * f.time_base), 3) for f in frames] == [0.0, 0.1, 0.2, 0.5, 0.6]
    assert [int(f.to_ndarray(format="gray").mean()) for f in frames] == pytest.approx([0, 40, 80, 120, 160], abs=3)
    # a photo command paints the first frame and says so
    result = cli(capsys, "edit", src, tmp_path / "first.png", *FAST, *WHOLE_GREY)
    assert result.status == 0 and "an animation; its first frame is painted" in result.err
    assert read_png(tmp_path / "first.png").shape[:2] == (48, 64)


@pytest.mark.parametrize(
    "content,says",
    [(b"", "file is empty"), (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "not a readable image")],
)
def test_photo_that_is_not_one(capsys, tmp_path, content, says):
    photo = tmp_path / "in.png"
    photo.write_bytes(content)
    refused(capsys, "edit", photo, tmp_path / "out.png", *FAST, says=says)
    assert not (tmp_path / "out.png").exists()


# ---------------------------------------------------------------- --size for files


def test_size_scales_the_frames_of_a_file(capsys, tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=5, size=(96, 64))
    out = tmp_path / "out.mkv"
    result = cli(capsys, "run", clip, out, *RUN_FAST, "--effect", "grey", "--size", "48x32")
    assert result.status == 0
    got = probe(out)
    assert got["size"] == (48, 32) and got["frames"] == 5


def test_size_scales_a_folder_of_photos(capsys, tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    write_png(src / "a.png", marked_picture(60, 40))
    write_png(src / "b.png", marked_picture(33, 77))
    out = tmp_path / "out"
    result = cli(capsys, "run", src, f"{out}/", *RUN_FAST, "--effect", "grey", "--size", "30x20")
    assert result.status == 0
    assert {read_png(p).shape[:2] for p in out.glob("*.png")} == {(20, 30)}


def test_photos_of_several_shapes_into_one_video_keep_their_shape(capsys, tmp_path):
    """A folder of an upright and a wide photo into a video: the wide one was squashed into the
    first one's frame, without a word. It is fitted in with black bars, and said once."""
    src = tmp_path / "photos"
    src.mkdir()
    write_png(src / "a.png", np.full((64, 48, 3), 200, np.uint8))  # upright
    write_png(src / "b.png", np.full((48, 96, 3), 200, np.uint8))  # wide
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", src, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0 and result.err.count("are fitted into the video's 48x64") == 1, result.err
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    assert len(frames) == 2 and frames[1].shape == (64, 48)
    wide = frames[1].astype(float)
    assert wide[:16].mean() < 40 and wide[48:].mean() < 40  # bars above and below
    assert wide[24:40].mean() > 150  # the photo, whole, between them (48x24 at half size)


# ---------------------------------------------------------------- a finite file over HTTP


@pytest.fixture
def web_server(tmp_path):
    """A real HTTP server (the standard library's) for files in tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_url_of_a_finite_file_ends(web_server, tmp_path):
    root, url = web_server
    make_clip(root / "clip.mp4", frames=20, size=(64, 48))
    out = tmp_path / "out.mp4"
    # another process: were the file taken for a camera, it would be replayed until the timeout
    done = deepphoto("run", f"{url}/clip.mp4", out, *RUN_FAST, "--effect", "grey", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert probe(out)["frames"] == 20  # every frame once, as from a file


def test_http_url_of_a_file_with_audio_keeps_its_audio(web_server, tmp_path):
    root, url = web_server
    make_clip(root / "talk.mp4", frames=20, size=(64, 48), audio=True)
    out = tmp_path / "out.mp4"
    done = deepphoto("run", f"{url}/talk.mp4", out, *RUN_FAST, "--effect", "grey", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    found = probe(out)
    assert found["frames"] == 20 and found["audio"]


def test_audio_that_the_server_no_longer_gives_leaves_the_video(capsys, web_server, tmp_path):
    """The audio of a network file is read again at the end; when that fails the video is kept."""
    from deepphoto.stream.video_file import VideoFileSink

    _, url = web_server
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out, Fraction(25), audio_from=f"{url}/gone.mp4")
    for i in range(10):
        sink.write(np.full((48, 64, 3), 20 * i, np.uint8))
    assert sink.close() == out
    assert "audio not copied" in sink.audio_note and "server" in sink.audio_note
    assert "deepphoto: warning: audio not copied" in capsys.readouterr().err
    found = probe(out)
    assert found["frames"] == 10 and not found["audio"]


def test_http_url_that_is_not_there(capsys, web_server, tmp_path):
    _, url = web_server
    out = tmp_path / "out.mp4"
    refused(capsys, "run", f"{url}/missing.mp4", out, *RUN_FAST, says="stream not reachable")
    assert not out.exists()


# ---------------------------------------------------------------- masks for eval-seg


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.astype(np.uint8) * 255,  # 0/255
        lambda m: m.astype(np.uint8),  # 0/1
        lambda m: np.dstack([m * 0, m * 0, m * 200]).astype(np.uint8),  # red person on black
        lambda m: np.dstack([m * 40, m * 180, m * 90]).astype(np.uint8),  # another colour
        lambda m: np.dstack([np.full(m.shape, 255), np.zeros(m.shape), np.zeros(m.shape), m * 255]).astype(np.uint8),
        lambda m: (m * 65535).astype(np.uint16),  # 16-bit
        lambda m: m.astype(np.uint8) * 100,  # two levels, an unusual one
    ],
    ids=["0-255", "0-1", "red", "colour", "alpha", "16-bit", "0-100"],
)
def test_mask_formats_read_the_same(tmp_path, make):
    truth = np.zeros((48, 64), bool)
    truth[10:40, 20:44] = True
    path = write_png(tmp_path / "m.png", make(truth))
    assert np.array_equal(read_mask(path, (64, 48)), truth)


def test_smaller_mask_of_the_same_aspect_is_scaled(tmp_path):
    truth = np.zeros((48, 64), bool)
    truth[12:36, 16:48] = True
    small = cv2.resize(truth.astype(np.uint8) * 255, (32, 24), interpolation=cv2.INTER_NEAREST)
    got = read_mask(write_png(tmp_path / "m.png", small), (64, 48))
    assert got.shape == (48, 64) and np.array_equal(got, truth)


@pytest.mark.parametrize(
    "mask,says",
    [
        (np.zeros((48, 48), np.uint8), "mask is 48x48 but its image is 64x48"),
        (np.zeros((64, 48), np.uint8), "mask is 48x64 but its image is 64x48"),
        (np.repeat(np.arange(4, dtype=np.uint8), 16)[None].repeat(48, 0), "class labels"),
    ],
)
def test_unclear_masks_are_refused(mask, says):
    with pytest.raises(DeepPhotoError, match=says):
        person_mask(mask, (64, 48), "m.png")


def make_dataset(root: Path, mask: np.ndarray, image_size: tuple[int, int] = (64, 48)) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    write_png(root / "images" / "a.png", marked_picture(*image_size))
    write_png(root / "masks" / "a.png", mask)
    return root


def test_eval_seg_refuses_a_mask_of_another_shape(capsys, tmp_path):
    data = make_dataset(tmp_path / "d", np.zeros((30, 30), np.uint8))
    refused(capsys, "eval-seg", data, "--input-size", "64x64", "--threads", "1", says="a.png: mask is 30x30")


@needs_shared
def test_eval_seg_scores_0_1_and_colour_masks_as_0_255(capsys, tmp_path):
    images = sorted((SHARED / "seg" / "portraits" / "images").iterdir())[:2]
    scores = {}
    for kind in ("0-255", "0-1", "colour"):
        data = tmp_path / kind
        (data / "images").mkdir(parents=True)
        (data / "masks").mkdir()
        for img in images:
            (data / "images" / img.name).write_bytes(img.read_bytes())
            m = cv2.imread(str(SHARED / "seg" / "portraits" / "masks" / f"{img.stem}.png"), cv2.IMREAD_GRAYSCALE) > 127
            stored = {"0-255": m * 255, "0-1": m * 1, "colour": np.dstack([m * 0, m * 255, m * 255])}[kind]
            write_png(data / "masks" / f"{img.stem}.png", stored.astype(np.uint8))
        result = cli(capsys, "eval-seg", data, "--json", "--threads", "1")
        assert result.status == 0
        scores[kind] = json.loads(result.out.strip().splitlines()[-1])["person_iou"]
    assert scores["0-255"] > 0.5
    assert scores["0-1"] == scores["0-255"] == scores["colour"]


# ---------------------------------------------------------------- names that are not files


@pytest.mark.parametrize(
    "argv, says",
    [
        (["run", "", "out.mp4"], "INPUT: empty name"),
        (["run", "in.mp4", ""], "OUTPUT: empty name"),
        (["edit", "", "out.png"], "IN: empty name"),
        (["edit", "in.jpg", ""], "OUT: empty name"),
        (["add-style", "", "--name", "x"], "PAINTING: empty name"),
        (["batch", "", "--out", "out"], "INPUT: empty name"),
        (["batch", "in", "--out", ""], "--out: empty name"),
        (["demo", "--out", ""], "--out: empty name"),
        (["run", "a" * 300 + ".mp4", "out.mp4"], "File name too long"),
        (["run", "missing.mp4", "out.mp4"], "missing.mp4: no such file or folder"),
        (["run", "synthetic://", "out.gif"], "unknown output type '.gif'"),
    ],
)
def test_an_empty_name_is_refused_not_read_as_the_current_folder(argv, says, tmp_path, monkeypatch):
    """An unset shell variable gives '': read as a path it is the folder the job started in, which
    `run` filled with frames. And `run` names a missing input or an output it cannot write before
    its networks load: the error is the only line (no 'backend auto -> ...' before it)."""
    monkeypatch.chdir(tmp_path)
    done = subprocess.run([*DEEPPHOTO, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepphoto: error:") and says in lines[0], done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_usage_mistake_is_one_line():
    done = subprocess.run([*DEEPPHOTO, "run", "only-one.mp4"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "deepphoto: error: the following arguments are required: OUTPUT (see deepphoto run --help)"
    ]


def test_a_folder_or_a_pipe_where_a_file_belongs_is_named_as_such(capsys, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = write_png(tmp_path / "p.png", marked_picture(40, 30))
    refused(capsys, "edit", folder, tmp_path / "o.png", says="is a folder, not a file")
    refused(capsys, "edit", photo, folder, says="is a folder; name the output photo")
    refused(capsys, "add-style", folder, "--name", "x", says="is a folder, not a file")
    fifo = tmp_path / "pipe.mkv"
    os.mkfifo(fifo)
    refused(capsys, "run", fifo, tmp_path / "r.mkv", *RUN_FAST, "--effect", "grey", says="is not a regular file")


def test_h264_with_b_frames_in_an_avi_keeps_its_timing(capsys, tmp_path):
    """An AVI stores no presentation times: H.264 with B-frames comes out of the decoder with pts
    in decoding order (1, 4, 3, 5, 2, ...): the output was held 3 frames and ended 2 frames late.
    Its decoding times count the frames as shown."""
    from deepphoto.stream.video_file import BestEffortTimestamp

    guess = BestEffortTimestamp()
    assert [guess(p, d) for p, d in [(1, 2), (3, 3), (2, 4), (4, 5), (5, 6)]] == [1, 3, 4, 5, 6]
    steady = BestEffortTimestamp()
    assert [steady(p, d) for p, d in [(0, None), (1, None), (2, 2)]] == [0, 1, 2]
    avi = BestEffortTimestamp(decoding_order=True)
    assert [avi(p, d) for p, d in [(1, 2), (4, 3), (3, 4), (26, None)]] == [1, 2, 3, 4]  # a tick a frame

    src = b_frame_avi(tmp_path / "b-frames.avi")  # flat frames: x264 chooses B-frames for them (not for noise)
    with av.open(str(src)) as c:
        decoded = [float(f.time) for f in c.decode(c.streams.video[0])]
    assert decoded != sorted(decoded)  # the case itself: pts in decoding order
    out_path = tmp_path / "out.mp4"
    assert cli(capsys, "run", src, out_path, *RUN_FAST, "--effect", "grey").status == 0
    with av.open(str(out_path)) as c:
        times = [float(f.time) for f in c.decode(c.streams.video[0])]
    gaps = np.diff(times)
    assert len(times) == 30 and gaps.min() > 0 and gaps.max() < 1.5 / 30  # a steady 30 fps
    assert times[0] == pytest.approx(min(decoded), abs=0.005)  # starts where the source does
    assert times[-1] == pytest.approx(max(decoded), abs=0.005)


def test_audio_a_container_cannot_store_is_encoded_as_aac_and_said(capsys, tmp_path):
    """Opus into a MOV (which cannot store it) was dropped with a warning: it is AAC now."""
    clip = make_clip(tmp_path / "in.mkv", frames=10, audio=True, audio_codec="libopus")
    out_path = tmp_path / "out.mov"
    result = cli(capsys, "run", clip, out_path, *RUN_FAST, "--effect", "grey")
    assert result.status == 0 and probe(out_path)["frames"] == 10
    with av.open(str(out_path)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
    assert "opus audio (mono) re-encoded as AAC (a .mov file cannot store it)" in result.err, result.err
    assert ".partial" not in result.err


def pcm_clip(path: Path, layout: str, channels: int) -> Path:
    """Ten black frames and 0.4 s of silent 16-bit PCM in ``channels`` channels (Matroska: no layout)."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("pcm_s16le", rate=48000)
        a.layout = layout
        encode_into(out, v, (av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), "rgb24") for _ in range(10)))
        sound = av.AudioFrame.from_ndarray(np.zeros((1, channels * 19200), np.int16), format="s16", layout=layout)
        sound.sample_rate, sound.pts = 48000, 0
        encode_into(out, a, [sound])
    return path


def test_six_channels_without_a_layout_are_5_1_in_an_mp4(capsys, tmp_path):
    """Six PCM channels without a layout (Matroska's): AAC refused them ('Unsupported channel layout')
    and the sound was dropped; they are 5.1, as FFmpeg guesses."""
    clip = pcm_clip(tmp_path / "in.mkv", "5.1", 6)
    with av.open(str(clip)) as c:
        assert c.streams.audio[0].codec_context.layout.name == "6 channels"  # the case
    out_path = tmp_path / "out.mp4"
    result = cli(capsys, "run", clip, out_path, *RUN_FAST, "--effect", "grey")
    assert result.status == 0 and probe(out_path)["frames"] == 10 and "not copied" not in result.err, result.err
    with av.open(str(out_path)) as c:
        assert c.streams.audio[0].codec_context.layout.name == "5.1"
    assert "pcm_s16le audio (6 channels) re-encoded as AAC" in result.err and ".partial" not in result.err


def test_audio_no_container_can_take_is_named_not_the_temporary_file(capsys, tmp_path):
    """Nine PCM channels: neither an MP4 nor AAC can name them; the warning names the sound."""
    clip = pcm_clip(tmp_path / "in.mkv", "9 channels", 9)
    out_path = tmp_path / "out.mp4"
    result = cli(capsys, "run", clip, out_path, *RUN_FAST, "--effect", "grey")
    assert result.status == 0 and probe(out_path)["frames"] == 10  # the video, without the audio
    assert "audio not copied: a .mp4 file cannot store pcm_s16le audio (9 channels)" in result.err, result.err
    assert ".partial" not in result.err


def test_a_transparent_photo_keeps_its_transparency_and_shows_white_where_it_cannot(capsys, tmp_path):
    """The colours stored under transparent pixels (here red) showed through, and a PNG output lost
    its alpha."""
    photo = np.zeros((40, 60, 4), np.uint8)
    photo[..., 2] = 200  # red everywhere, opaque on the left only
    photo[:, :30, 3] = 255
    src = write_png(tmp_path / "cut-out.png", photo)
    assert cli(capsys, "edit", src, tmp_path / "out.png", *FAST, *WHOLE_GREY).status == 0
    out = read_png(tmp_path / "out.png")
    assert out.shape == (40, 60, 4) and np.array_equal(out[..., 3], photo[..., 3])
    assert cli(capsys, "edit", src, tmp_path / "out.jpg", *FAST, *WHOLE_GREY).status == 0
    flat = cv2.imread(str(tmp_path / "out.jpg"))
    assert flat[:, 40:].min() > 235  # white where it was transparent, not grey of the red below
    assert flat[:, :20].max() < 120  # the opaque red, in grey


def test_transparency_is_turned_with_the_picture(tmp_path):
    from PIL import Image

    from deepphoto.frames import read_image_alpha

    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[..., :3] = 128  # one flat colour: only the file's EXIF can say how to turn the alpha
    rgba[:10, :, 3] = 255  # opaque along the top edge only
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees clockwise
    path = tmp_path / "phone.png"
    Image.fromarray(rgba, "RGBA").save(path, exif=exif)
    image, alpha = read_image_alpha(path)
    assert image.shape == (60, 40, 3) and alpha is not None and alpha.shape == (60, 40)
    assert alpha[:, -10:].min() == 255 and alpha[:, :-10].max() == 0  # the top edge is now the right one


def test_joined_recordings_whose_clock_starts_again_keep_every_frame(capsys, tmp_path):
    """Two recordings joined (the second's clock back at zero): the frames after the join were all
    written one tick apart at the end of the first part (a 40-frame clip lasted 0.67 s), and
    decoding was said to have stopped early."""
    joined = tmp_path / "joined.ts"
    joined.write_bytes(ts_part(tmp_path / "a.ts", 0, 20, 300) + ts_part(tmp_path / "b.ts", 20, 20, 0))
    out_path = tmp_path / "out.mp4"
    result = cli(capsys, "run", joined, out_path, *RUN_FAST, "--effect", "grey", "--region", "whole")
    assert result.status == 0 and "stopped" not in result.err, result.err
    with av.open(str(out_path)) as c:
        frames = [(float(f.time), float(f.to_ndarray(format="gray").mean())) for f in c.decode(video=0)]
    times = [t for t, _ in frames]
    assert len(frames) == 40
    assert np.diff(times).min() > 0.5 / 30 and np.diff(times).max() < 1.5 / 30  # steady, no squashed half
    assert times[-1] - times[0] == pytest.approx(39 / 30, abs=0.01)
    greys = [g for _, g in frames]
    assert greys == sorted(greys)  # shown in the order recorded


def test_joined_recordings_keep_their_sound_in_step(capsys, tmp_path):
    """The sound's clock starts again with the picture's: its packets were copied as they were
    (going back at the join), the container refused them and the output had no sound."""
    joined = tmp_path / "joined.ts"
    joined.write_bytes(
        ts_part(tmp_path / "a.ts", 0, 30, 300, audio=True) + ts_part(tmp_path / "b.ts", 30, 30, 0, audio=True)
    )
    for suffix in (".mp4", ".mkv"):
        out_path = tmp_path / f"out{suffix}"
        result = cli(capsys, "run", joined, out_path, *RUN_FAST, *WHOLE_GREY)
        assert result.status == 0 and "audio not copied" not in result.err, result.err
        assert probe(out_path)["frames"] == 60
        video, audio = stream_end(out_path, "video"), stream_end(out_path, "audio")
        with av.open(str(out_path)) as c:
            start = float(c.streams.video[0].start_time * c.streams.video[0].time_base)
        assert video - start == pytest.approx(2.0, abs=0.05)  # 60 frames at 30 fps
        assert audio == pytest.approx(video, abs=0.1)  # the sound of both parts, ending with the picture


def test_a_stray_timestamp_does_not_move_the_rest():
    """One frame out of order (or a repeated timestamp): that frame goes right after the last one,
    and the source's own times resume; only a clock that starts again, which the next frame
    confirms, shifts what follows."""
    from deepphoto.stream.video_container import OnwardClock

    clock = OnwardClock(30)
    stray = [clock(t, 1) for t in [*range(50), 5, *range(50, 100)]]
    assert stray[-1] == 100  # one tick late at most, not 45
    clock = OnwardClock(30)
    assert [clock(t, 1) for t in [*range(300, 303), 0, 1, 2]] == [300, 301, 302, 303, 304, 305]
    clock = OnwardClock(90000)
    assert [clock(t, 3000) for t in [0, 3000, 6000, 6000, 9000]] == [0, 3000, 6000, 6001, 9000]
    clock = OnwardClock(30)  # three recordings joined: each goes on one frame after the last, no gap
    assert [clock(t, 1) for t in [*range(90), *range(90), *range(90)]] == list(range(270))
    clock = OnwardClock(30)  # a first frame before zero (an edit list) shifted to zero, then a join
    clock.shift = 5
    assert [clock(t, 1) for t in [*range(-5, 40), *range(40)]] == list(range(85))


def test_a_colour_made_clear_by_a_png_transparency_chunk_is_on_white(tmp_path):
    """An RGB PNG with one colour made transparent (a tRNS chunk) was read as opaque."""
    from PIL import Image

    from deepphoto.frames import read_image_alpha

    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:, :15] = (10, 20, 30)
    rgb[:, 15:] = (200, 0, 0)
    Image.fromarray(rgb).save(tmp_path / "key.png", transparency=(10, 20, 30))
    image, alpha = read_image_alpha(tmp_path / "key.png")
    assert alpha is not None and alpha[:, :15].max() == 0 and alpha[:, 15:].min() == 255
    assert image[:, :15].min() == 255 and (image[:, 15:] == (0, 0, 200)).all()


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_a_transparent_tiff_reads_as_the_same_png(tmp_path, orientation):
    """A TIFF with alpha was turned twice (OpenCV turns a TIFF itself, alpha or not) and made too
    dark (libtiff gives its colour premultiplied by the alpha)."""
    from PIL import Image

    from deepphoto.frames import read_image_alpha

    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., :3] = (50, 100, 200)
    rgba[..., 3] = 128
    rgba[:5, :, 3] = 255  # opaque along the top edge
    picture = Image.fromarray(rgba, "RGBA")
    exif = Image.Exif()
    exif[0x0112] = orientation
    picture.save(tmp_path / "a.png", exif=exif)
    picture.save(tmp_path / "a.tif", tiffinfo={0x0112: orientation})
    png, png_alpha = read_image_alpha(tmp_path / "a.png")
    tif, tif_alpha = read_image_alpha(tmp_path / "a.tif")
    assert np.array_equal(tif_alpha, png_alpha) and np.abs(tif.astype(int) - png).max() <= 1
    assert png[..., 0].max() > 220  # half-clear blue (200) on white: 227, not darkened


@pytest.mark.parametrize("audio_codec", ["aac", "libopus"])
def test_intact_mkv_whose_video_starts_after_its_audio_does_not_warn(capsys, tmp_path, audio_codec):
    """Audio from 0, video from 1 s: the video track's DURATION tag (FFmpeg's Matroska muxer) is
    where it ends counted from 0 (4 s), and was taken for its length: 'decoding stopped at 3.00 s
    of 4.00 s' of an intact file. Cut short, it still warns."""
    clip = make_clip(
        tmp_path / "late.mkv", frames=75, size=(64, 48), audio=True, video_start=25, audio_codec=audio_codec
    )
    with av.open(str(clip)) as c:
        assert c.streams.video[0].start_time * c.streams.video[0].time_base == 1
    result = cli(capsys, "run", clip, tmp_path / "out.mp4", *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0 and not result.errors and result.warnings == []
    assert probe(tmp_path / "out.mp4")["frames"] == 75
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size * 2 // 3])
    result = cli(capsys, "run", cut, tmp_path / "cut.mp4", *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0 and not result.errors
    assert len(result.warnings) == 1 and "cut short or damaged" in result.warnings[0]
