"""More unusual input files, as users hand them over: a TIFF of several pages and an animated AVIF
(read as one photo), a VP8/VP9 WebM with transparency, and a song with its cover art given to the
batch and the training-data readers. Each file is made here, in milliseconds."""

from __future__ import annotations

import struct
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest
from media import song_with_cover as song
from PIL import Image

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import read_image, read_image_alpha
from deepphoto.stream import video_file
from deepphoto.stream.sources import open_source

# ---------------------------------------------------------------- photos of several pages or frames


def pages(path: Path, count: int, size: tuple[int, int] = (32, 24), **save: object) -> Path:
    """A file of ``count`` pages (TIFF) or frames (AVIF), written by Pillow; page i is grey 60 * i."""
    w, h = size
    images = [Image.fromarray(np.full((h, w, 3), 60 * i + 20, np.uint8)) for i in range(count)]
    images[0].save(path, save_all=True, append_images=images[1:], **save)
    return path


def grey_tiff(pages: list[tuple[int, int, int]]) -> bytes:
    """A little-endian TIFF of uncompressed 8-bit grey pages (width, height, NewSubfileType), each
    in one strip, chained in order: what a scanner or camera writes with a thumbnail after the
    picture (NewSubfileType 1: a reduced-resolution copy)."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    link = 4  # where the offset of the next directory goes
    for w, h, kind in pages:
        strip = len(out)
        out += bytes([128]) * (w * h)
        if len(out) % 2:
            out += b"\x00"
        ifd = len(out)
        struct.pack_into("<I", out, link, ifd)
        tags = [
            (254, 4, kind),  # NewSubfileType (LONG)
            (256, 3, w),
            (257, 3, h),
            (258, 3, 8),  # BitsPerSample
            (259, 3, 1),  # Compression: none
            (262, 3, 1),  # Photometric: BlackIsZero
            (273, 4, strip),  # StripOffsets
            (277, 3, 1),  # SamplesPerPixel
            (278, 3, h),  # RowsPerStrip
            (279, 4, w * h),  # StripByteCounts
        ]
        out += struct.pack("<H", len(tags))
        for tag, kind_, value in tags:
            value_field = struct.pack("<I", value) if kind_ == 4 else struct.pack("<HH", value, 0)
            out += struct.pack("<HHI", tag, kind_, 1) + value_field
        link = len(out)
        out += b"\x00\x00\x00\x00"  # no next directory (yet)
    return bytes(out)


def test_tiff_pages_counts_full_pages_not_thumbnails():
    from deepphoto.image_header import tiff_pages

    assert tiff_pages(grey_tiff([(8, 6, 0)])) == 1
    assert tiff_pages(grey_tiff([(8, 6, 0), (8, 6, 0), (8, 6, 2)])) == 3  # bit 1: one page of several
    assert tiff_pages(grey_tiff([(8, 6, 0), (4, 3, 1)])) == 1  # and its thumbnail
    assert tiff_pages(b"not a tiff at all") == 0


def test_tiff_pages_ends_on_a_loop_of_directories_and_a_cut_file():
    from deepphoto.image_header import tiff_pages

    looped = bytearray(grey_tiff([(8, 6, 0), (8, 6, 0)]))
    first = struct.unpack_from("<I", looped, 4)[0]
    struct.pack_into("<I", looped, len(looped) - 4, first)  # the last directory leads back to the first
    assert tiff_pages(bytes(looped)) == 2
    whole = grey_tiff([(8, 6, 0), (8, 6, 0)])
    assert tiff_pages(whole[: len(whole) - 20]) == 1  # the second directory cut off


def test_a_multi_page_tiff_warns_that_only_its_first_page_is_painted(tmp_path, capsys):
    """A scan of three pages was painted as its first page without a word."""
    tif = pages(tmp_path / "scan.tif", 3)
    image = read_image(tif)
    assert image.shape == (24, 32, 3) and (image == 20).all()  # the first page
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"deepphoto: warning: {tif}: a TIFF of 3 pages: only the first is used"]


def test_a_tiff_with_a_thumbnail_is_one_photo_without_a_warning(tmp_path, capsys):
    tif = tmp_path / "camera.tif"
    tif.write_bytes(grey_tiff([(40, 30, 0), (10, 8, 1)]))
    assert read_image(tif).shape == (30, 40, 3)
    assert capsys.readouterr().err == ""


def test_an_animated_avif_warns_that_only_its_first_frame_is_used(tmp_path, capsys):
    avif = pages(tmp_path / "clip.avif", 3, duration=100)
    with Image.open(avif) as im:
        if getattr(im, "n_frames", 1) != 3:
            pytest.skip("this Pillow writes no AVIF sequence")
    image = read_image(avif)
    assert image.shape == (24, 32, 3)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"deepphoto: warning: {avif}: an animated AVIF of 3 frames: only the first is used"]


def test_a_still_avif_gives_no_warning(tmp_path, capsys):
    avif = pages(tmp_path / "still.avif", 1)
    read_image(avif)
    assert capsys.readouterr().err == ""


def test_the_pages_warning_reaches_a_batch_workers_report(tmp_path, capsys):
    """A batch worker's warnings go to the batch's table (``warn``), not to a worker's stderr."""
    tif = pages(tmp_path / "scan.tif", 2)
    notes: list[str] = []
    read_image_alpha(tif, warn=notes.append)
    assert notes == ["a TIFF of 2 pages: only the first is used"]
    assert capsys.readouterr().err == ""


def test_batch_paints_a_multi_page_tiff_and_notes_its_pages(tmp_path):
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto.batch.actors import paint_photo

    tif = pages(tmp_path / "scan.tif", 3)
    pipe = SimpleNamespace(
        reset=lambda: None,
        photo=lambda image, painted=None, kept=None, alpha=None, keep_mask=True: image,
        person_share=0.5,
        settings=SimpleNamespace(region="background"),
    )
    frames, note = paint_photo(pipe, tif, tmp_path / "out.png")
    assert frames == 1 and note == "a TIFF of 3 pages: only the first is used"
    assert (tmp_path / "out.png").is_file()


def test_edit_of_a_multi_page_tiff_says_so_once(tmp_path, capsys):
    from deepphoto.commands.cli import main

    tif = pages(tmp_path / "scan.tif", 3, size=(64, 48))
    assert main(["edit", str(tif), str(tmp_path / "out.png"), "--effect", "grey"]) == 0
    err = capsys.readouterr().err
    assert err.count("a TIFF of 3 pages: only the first is used") == 1, err


def test_run_of_a_multi_page_tiff_says_so_once(tmp_path, capsys):
    """``run`` checks the photo when it opens it and reads it again to paint it: one warning."""
    tif = pages(tmp_path / "scan.tif", 2)
    frames = list(open_source(str(tif)))
    assert len(frames) == 1
    assert capsys.readouterr().err.count("a TIFF of 2 pages") == 1


# ---------------------------------------------------------------- VP8 / VP9 WebM with transparency


def alpha_webm(path: Path, codec: str = "libvpx-vp9", pix_fmt: str = "yuva420p", frames: int = 3) -> Path:
    """A red square moving over transparency (what a screen recorder or After Effects exports for
    overlays); ``pix_fmt`` yuv420p: the same, opaque, on black."""
    with av.open(str(path), "w", format="webm") as out:
        v = out.add_stream(codec, rate=10, options={"auto-alt-ref": "0"} if codec == "libvpx" else {})
        v.width, v.height, v.pix_fmt = 64, 48, pix_fmt
        for i in range(frames):
            a = np.zeros((48, 64, 4), np.uint8)
            a[12:36, 8 + 8 * i : 24 + 8 * i] = (0, 0, 255, 255)
            frame = av.VideoFrame.from_ndarray(a, format="bgra").reformat(format=pix_fmt)
            frame.pts = i
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return path


def _near(pixel: np.ndarray, bgr: tuple[int, int, int], tol: int = 12) -> bool:
    return int(np.abs(pixel.astype(int) - bgr).max()) <= tol


@pytest.mark.parametrize("codec", ["libvpx-vp9", "libvpx"])
def test_a_webm_with_transparency_is_on_white(tmp_path, codec, capsys):
    """FFmpeg's own VP8/VP9 decoders drop the alpha a WebM carries beside the picture: its clear
    parts came out black (the colour stored under them), where a PNG, ProRes 4444 or GIF is on white."""
    try:
        clip = alpha_webm(tmp_path / "overlay.webm", codec)
    except av.error.FFmpegError:
        pytest.skip(f"this PyAV cannot encode {codec} with alpha")
    frames = list(open_source(str(clip)))
    assert len(frames) == 3
    first = frames[0].image
    assert _near(first[0, 0], (255, 255, 255)) and _near(first[47, 63], (255, 255, 255))
    assert _near(first[20, 12], (0, 0, 255), 20)
    assert _near(frames[2].image[20, 12], (255, 255, 255))  # the square has moved on
    assert capsys.readouterr().err == ""


def test_a_webm_without_transparency_keeps_ffmpegs_own_decoder(tmp_path):
    clip = alpha_webm(tmp_path / "plain.webm", pix_fmt="yuv420p")
    reader = video_file.VideoFileSource(clip)
    try:
        assert reader.alpha_decoder is None
        images = [f.image for f in reader]
    finally:
        reader.close()
    assert len(images) == 3 and _near(images[0][0, 0], (0, 0, 0))  # black is black: nothing was clear


def test_a_webm_whose_transparency_cannot_be_decoded_says_so(tmp_path, capsys, monkeypatch):
    """Where this FFmpeg has no libvpx decoder: the picture on black, and one line that says why."""
    clip = alpha_webm(tmp_path / "overlay.webm")
    monkeypatch.setitem(video_file.ALPHA_DECODERS, "vp9", "no-such-decoder")
    frames = list(open_source(str(clip)))
    assert len(frames) == 3 and _near(frames[0].image[0, 0], (0, 0, 0))
    video_file.VideoFileSource(clip).close()  # opened again (a batch's chunk): said once
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"deepphoto: warning: {clip}: has transparency that FFmpeg cannot decode here (no no-such-decoder "
        "decoder); its clear parts are shown on black"
    ]


def test_a_batch_chunk_of_a_webm_with_transparency_is_on_white(tmp_path):
    """A batch cuts a long video in chunks and seeks to each: the alpha decoder starts there too."""
    from deepphoto.batch.chunks import ChunkSource, plan_video

    clip = tmp_path / "long.webm"
    with av.open(str(clip), "w", format="webm") as out:
        v = out.add_stream("libvpx-vp9", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuva420p"
        v.codec_context.gop_size = 10
        for i in range(40):
            a = np.zeros((48, 64, 4), np.uint8)
            a[12:36, 20:40] = (0, 0, 255, 255)
            frame = av.VideoFrame.from_ndarray(a, format="bgra").reformat(format="yuva420p")
            frame.pts = i
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    plan = plan_video(clip, chunk_seconds=1.0, warmup_seconds=0.0)
    assert len(plan.chunks) > 1
    source = ChunkSource(plan, plan.chunks[-1])
    try:
        images = [f.image for f in source]
    finally:
        source.close()
    assert images and all(_near(im[0, 0], (255, 255, 255)) and _near(im[20, 30], (0, 0, 255), 20) for im in images)


# ---------------------------------------------------------------- a song with its cover art


def test_training_clips_refuse_a_song_with_cover_art_in_one_line(tmp_path):
    """``clip_frames`` gave the cover as the clip's one frame (a teacher painted the album art)."""
    from deepphoto import datasets

    audio = song(tmp_path / "song.mp4")
    assert datasets.clip_frame_count(audio) == 0
    with pytest.raises(DeepPhotoError, match=r"song.mp4: has no video stream \(only a cover picture\)$"):
        list(datasets.clip_frames(audio))


def test_training_clips_read_the_video_beside_a_cover(tmp_path):
    from deepphoto import datasets

    clip = song(tmp_path / "clip.mp4", video=True)
    assert datasets.clip_frame_count(clip) == 5
    frames = list(datasets.clip_frames(clip, every=1))
    assert len(frames) == 5 and frames[0][1].shape == (48, 64, 3)


def test_batch_refuses_a_song_with_cover_art_in_one_line(tmp_path):
    from deepphoto.batch.chunks import plan_video, probe_video

    audio = song(tmp_path / "song.mp4")
    for check in (probe_video, plan_video):
        with pytest.raises(DeepPhotoError, match=r"has no video stream \(only a cover picture\)$"):
            check(audio)


def test_batch_join_copies_the_sound_of_a_video_with_cover_art(tmp_path):
    """The joined output takes the source's sound; its cover picture is not taken for its video."""
    from deepphoto.batch.join import finish_video

    source = song(tmp_path / "clip.mp4", video=True)
    with av.open(str(source)) as c:
        tb = c.streams.video[0].time_base
    chunk = tmp_path / "chunk.mp4"
    with av.open(str(chunk), "w") as out:
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="bgr24")
            frame.pts = i
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    out = tmp_path / "out.mp4"
    # the cover picture is not carried, and said so since hunt 31 (the sound is)
    assert finish_video([chunk], [0], tb, source, out) == "1 cover picture left out (one sound track is copied)"
    with av.open(str(out)) as c:
        kinds = sorted(s.type for s in c.streams)
        assert kinds == ["audio", "video"]
        assert c.streams.video[0].codec_context.name == "h264"
