"""Unusual media found by a hunt. A half-clear photo kept transparent (``edit x.png out.png``) was
painted from the picture laid on white and given its transparency back, so it was laid on white
twice: a grey effect of a grey picture came out lighter, and the PNG on white did not look like the
JPEG of the same edit. ``batch`` painted a transparent photo without its transparency, so a
cut-out's soft edge next to the person was painted as background (``edit`` keeps it the person's).
The source of a run deleted before its audio was copied: the warning said "No such file or
directory" without naming the file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from adversarial import FAST, cli

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]


def half_clear(path: Path, grey: int = 200) -> tuple[Path, np.ndarray]:
    """A flat grey picture whose alpha rises from clear (left) to opaque (right), as a PNG."""
    alpha = np.tile(np.linspace(0, 255, 80).round().astype(np.uint8), (60, 1))
    bgra = np.dstack([np.full((60, 80, 3), grey, np.uint8), alpha])
    assert cv2.imwrite(str(path), bgra)
    return path, alpha


def on_white(bgra: np.ndarray) -> np.ndarray:
    a = bgra[..., 3:].astype(np.float64) / 255
    return bgra[..., :3] * a + 255 * (1 - a)


def test_a_grey_picture_kept_half_clear_stays_its_grey(capsys, tmp_path):
    src, alpha = half_clear(tmp_path / "veil.png")
    out = tmp_path / "out.png"
    assert cli(capsys, "edit", src, out, *FAST, *WHOLE_GREY).status == 0
    got = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert got.shape == (60, 80, 4) and np.array_equal(got[..., 3], alpha)
    seen = alpha >= 64  # where the colour shows (below, a level of it is several of the stored colour)
    assert np.abs(got[..., :3][seen].astype(int) - 200).max() <= 3  # was up to 241: laid on white twice


def test_a_half_clear_png_on_white_looks_as_the_jpeg_of_the_same_edit(capsys, tmp_path):
    src, _ = half_clear(tmp_path / "veil.png", grey=90)
    png, jpg = tmp_path / "out.png", tmp_path / "out.jpg"
    assert cli(capsys, "edit", src, png, *FAST, *WHOLE_GREY).status == 0
    assert cli(capsys, "edit", src, jpg, *FAST, *WHOLE_GREY).status == 0
    shown = on_white(cv2.imread(str(png), cv2.IMREAD_UNCHANGED))
    flat = cv2.imread(str(jpg)).astype(np.float64)
    assert np.abs(shown - flat).mean() < 2  # was 18 levels lighter on average


def test_batch_paints_a_transparent_photo_with_its_transparency_as_edit_does(tmp_path, monkeypatch):
    """The photo's alpha reaches ``Pipeline.photo`` (its soft edge by the person is the person's)."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto.batch import actors

    src, alpha = half_clear(tmp_path / "cut-out.png")
    seen: dict[str, np.ndarray | None] = {}

    class Pipe:
        person_share = None
        settings = type("S", (), {"region": "background"})()

        def reset(self) -> None:
            pass

        def photo(self, image, painted=None, kept=None, own_alpha=None, keep_mask=True):
            seen["kept"], seen["alpha"] = kept, own_alpha
            return image

    frames, _ = actors.paint_photo(Pipe(), src, tmp_path / "out.png")  # type: ignore[arg-type]
    assert frames == 1 and seen["kept"] is not None
    assert seen["alpha"] is not None and np.array_equal(seen["alpha"], alpha)
    assert cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED).shape == (60, 80, 4)


def clip_with_sound(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        for i in range(10):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="bgr24")
            f.pts, f.time_base = i, Fraction(1, 25)
            for p in v.encode(f):
                out.mux(p)
        for i in range(20):
            s = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            s.sample_rate, s.pts = 48000, i * 1024
            for p in a.encode(s):
                out.mux(p)
        for stream in (v, a):
            for p in stream.encode():
                out.mux(p)
    return path


def test_a_source_gone_before_its_sound_is_copied_is_named(capsys, tmp_path):
    from deepphoto.stream.video_file import VideoFileSink

    try:
        src = clip_with_sound(tmp_path / "moved-away.mp4")
    except (av.error.FFmpegError, ValueError) as exc:  # an FFmpeg without libx264 or AAC
        pytest.skip(f"cannot make the clip here: {exc}")
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out, Fraction(25), audio_from=src)
    for i in range(10):
        sink.write(np.full((48, 64, 3), 20 * i, np.uint8), i)
    src.unlink()  # moved or deleted while the job ran
    assert sink.close() == out
    err = capsys.readouterr().err
    assert f"audio not copied from {src}" in err, err  # which file: not the output, not a temporary one
    with av.open(str(out)) as c:
        assert not c.streams.audio and sum(1 for _ in c.decode(video=0)) == 10


def test_a_background_picture_behind_a_half_clear_photo_keeps_its_own_colours(capsys, tmp_path):
    """``off_white`` undoes the white a transparent photo was laid on for the networks; a background
    picture (``--effect replace``) was never laid on white, so it is stored as it is."""
    src, alpha = half_clear(tmp_path / "veil.png", grey=90)
    backdrop = tmp_path / "backdrop.png"
    assert cv2.imwrite(str(backdrop), np.full((60, 80, 3), 120, np.uint8))
    out = tmp_path / "out.png"
    args = ["--effect", "replace", "--background", backdrop, "--region", "whole"]
    assert cli(capsys, "edit", src, out, *FAST, *args).status == 0
    got = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert got.shape == (60, 80, 4) and np.array_equal(got[..., 3], alpha)
    seen = alpha > 0
    assert np.abs(got[..., :3][seen].astype(int) - 120).max() <= 1  # off_white gave 0 to 120 here
