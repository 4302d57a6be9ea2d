"""Unusual video inputs (a hunt as a user of `run`): long last frames of GIFs and animated WebPs,
gaps in the timing, cover art, anamorphic pixels, transparency. Each file is made here, in
milliseconds, and goes from ``open_source`` to ``open_sink`` as `run` takes it, without networks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from media import encode_into, grey_frame, song_with_cover
from PIL import Image

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.sinks import open_sink
from deepphoto.stream.sources import open_source


def convert(source: Path, output: Path | str) -> Path | None:
    """``source`` into ``output`` frame by frame, unprocessed, as `run` moves them."""
    src = open_source(str(source))
    try:
        sink = open_sink(str(output), src.fps, src.time_base, src.audio_path, overwrite=True, live=src.live)
        for frame in src:
            sink.write(frame.image, frame)
    finally:
        src.close()
    return sink.close()


def timing(path: Path) -> tuple[float, float, list[float]]:
    """The container's duration, where the video ends (its last packet's time plus duration, as
    players end it) and the frames' times, in seconds. An MP4's (or MOV's) packets' durations are
    steps in decode order: a packet ends at its decode time plus its duration, shown as much later
    as the first packet's pts is after its dts."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        packets = [p for p in c.demux(stream) if p.size and p.pts is not None]
        if "mov" in c.format.name.split(","):
            lead = packets[0].pts - packets[0].dts
            end = max(float((p.dts + lead + p.duration) * p.time_base) for p in packets)
        else:
            end = max(float((p.pts + p.duration) * p.time_base) for p in packets)
        c.seek(0)
        times = [float(f.time) for f in c.decode(stream)]
        return c.duration / av.time_base, end, times


def animation(path: Path, ms: list[int], rgba: bool = False, **save: object) -> Path:
    """An animation of ``len(ms)`` frames lasting ``ms`` each, written by Pillow."""
    frames = []
    for i in range(len(ms)):
        a = np.zeros((48, 64, 4 if rgba else 3), np.uint8)
        if not rgba:
            a[:] = (40 * i, 90, 200 - 30 * i)
        a[12:36, 8 * i : 8 * i + 16] = (255, 0, 0, 255)[: a.shape[2]]
        frames.append(Image.fromarray(a, "RGBA" if rgba else "RGB"))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=ms, loop=0, **save)
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_a_gifs_long_last_frame_lasts_as_long_in_the_video(tmp_path, suffix):
    """Five frames of 100 ms, then 3 s: the video lasts 3.5 s (it ended 0.58 s after the last frame
    began: one period of the GIF's average rate)."""
    gif = animation(tmp_path / "long-last.gif", [100] * 5 + [3000])
    out = convert(gif, tmp_path / f"out{suffix}")
    duration, end, times = timing(out)
    assert times == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 0.5], abs=1e-3)
    assert end == pytest.approx(3.5, abs=1e-3)
    assert duration == pytest.approx(3.5, abs=2e-3)


@pytest.mark.skipif(not hasattr(cv2, "imdecodeanimation"), reason="this OpenCV cannot decode animated WebP")
def test_an_animated_webps_long_last_frame_lasts_as_long_in_the_video(tmp_path):
    webp = animation(tmp_path / "long-last.webp", [100] * 5 + [3000], lossless=True)
    duration, end, times = timing(convert(webp, tmp_path / "out.mp4"))
    assert len(times) == 6 and times[-1] == pytest.approx(0.5, abs=1e-3)
    assert end == pytest.approx(3.5, abs=1e-3)
    assert duration == pytest.approx(3.5, abs=2e-3)


def test_a_clip_with_a_gap_into_matroska_ends_with_its_last_frame(tmp_path):
    """Frames 0-14 and 75-89 of a 30 fps clip (B-frames, so its MP4 gives the frame after the gap
    the gap's length as its packet's duration): the Matroska copy ends at 3.0 s, not one period of
    the average rate (10 fps) later, nor 2 s later."""
    clip = tmp_path / "gap.mp4"
    with av.open(str(clip), "w") as out:
        v = out.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i, pts in enumerate([*range(15), *range(75, 90)]):
            img = np.random.default_rng(i).integers(0, 255, (48, 64, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = pts, Fraction(1, 30)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    duration, end, times = timing(convert(clip, tmp_path / "out.mkv"))
    assert len(times) == 30 and times[15] == pytest.approx(2.5, abs=1e-3)
    assert end == pytest.approx(3.0, abs=1e-3)
    assert duration == pytest.approx(3.0, abs=1e-3)


def test_an_audio_file_with_cover_art_has_no_video_stream(tmp_path):
    """A song with its cover (an attached picture, which FFmpeg lists as a video stream) is refused
    in one line, not made into a video of one frame lasting 11 microseconds."""
    song = song_with_cover(tmp_path / "song.m4a")
    with pytest.raises(DeepPhotoError, match=r"has no video stream \(only a cover picture\)"):
        open_source(str(song))


def test_anamorphic_video_is_made_of_square_pixels(tmp_path):
    """720x480 with 32:27 pixels (a 16:9 DVD) is shown 854x480; written as 720x480 untagged it was
    squeezed to 3:2, people made thinner. A circle stays a circle."""
    clip = tmp_path / "dvd.mp4"
    with av.open(str(clip), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 720, 480, "yuv420p"
        v.codec_context.sample_aspect_ratio = Fraction(32, 27)
        img = np.zeros((480, 720, 3), np.uint8)
        cv2.ellipse(img, (360, 240), (round(150 * 27 / 32), 150), 0, 0, 360, (255, 255, 255), -1)  # round on screen
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts = 0
        for p in v.encode(frame) + v.encode():
            out.mux(p)
    out = convert(clip, tmp_path / "out.mp4")
    with av.open(str(out)) as c:
        picture = next(c.decode(video=0)).to_ndarray(format="gray")
    assert picture.shape == (480, 854)
    ys, xs = np.nonzero(picture > 128)
    assert xs.max() - xs.min() == pytest.approx(ys.max() - ys.min(), abs=4)


@pytest.mark.parametrize("codec, pix_fmt", [("png", "rgba"), ("qtrle", "argb")])
def test_a_video_with_transparency_is_on_white(tmp_path, codec, pix_fmt):
    """A MOV with an alpha channel: what is transparent is white, as in a photo or a GIF (it was
    the colour stored under it: black)."""
    clip = tmp_path / "alpha.mov"
    with av.open(str(clip), "w") as out:
        v = out.add_stream(codec, rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, pix_fmt
        for i in range(3):
            a = np.zeros((48, 64, 4), np.uint8)
            a[12:36, 8 + 8 * i : 24 + 8 * i] = (0, 0, 255, 255)
            frame = av.VideoFrame.from_ndarray(a, format="bgra").reformat(format=pix_fmt)
            frame.pts = i
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    frames = list(open_source(str(clip)))
    assert len(frames) == 3
    assert (frames[0].image[0, 0] == 255).all() and (frames[0].image[20, 12] == (0, 0, 255)).all()


@pytest.mark.skipif(not hasattr(cv2, "imdecodeanimation"), reason="this OpenCV cannot decode animated WebP")
def test_an_animated_webp_with_transparency_is_on_white(tmp_path):
    webp = animation(tmp_path / "clear.webp", [200] * 5, rgba=True)  # (Pillow drops alpha when lossless, or 3 frames)
    frames = list(open_source(str(webp)))
    assert len(frames) == 5
    assert (frames[0].image[0, 0] >= 250).all()
    assert np.abs(frames[0].image[20, 4].astype(int) - (0, 0, 255)).max() <= 8


@pytest.mark.parametrize("name", ["frames.mkv/", "frames.png/"])
def test_an_output_named_with_a_slash_is_a_folder_whatever_its_suffix(tmp_path, name):
    """`run clip.mp4 frames.mkv/` asked for a folder of frames; it wrote a video file 'frames.mkv'."""
    gif = animation(tmp_path / "in.gif", [100] * 3)
    assert convert(gif, f"{tmp_path}/{name}") == tmp_path / name.rstrip("/")
    assert (tmp_path / name).is_dir() and len(list((tmp_path / name).glob("*.png"))) == 3


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_pcm_sound_of_a_matroska_file_is_kept_in_an_mp4(tmp_path, suffix):
    """Matroska names no channel layout for PCM ('2 channels'), which MP4 and MOV refuse: the sound
    was dropped with a warning. It is stored as stereo."""
    clip = tmp_path / "pcm.mkv"
    with av.open(str(clip), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("pcm_s16le", rate=48000)
        a.layout = "stereo"
        encode_into(out, v, (grey_frame((48, 64), 20 * i, i) for i in range(10)))
        tone = (3000 * np.sin(np.arange(19200) / 10)).astype(np.int16)
        sound = av.AudioFrame.from_ndarray(np.repeat(tone, 2)[None], format="s16", layout="stereo")
        sound.sample_rate, sound.pts = 48000, 0
        encode_into(out, a, [sound])
    with av.open(str(clip)) as c:
        assert c.streams.audio[0].codec_context.layout.name == "2 channels"  # as Matroska gives it
    out = convert(clip, tmp_path / f"out{suffix}")
    with av.open(str(out)) as c:
        assert c.streams.audio, "the sound was dropped"
        assert c.streams.audio[0].codec_context.layout.name == "stereo"
        samples = sum(f.samples for f in c.decode(audio=0))
    assert samples == pytest.approx(19200, abs=1024)
