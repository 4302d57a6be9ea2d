"""Video outputs as a web page or a download plays them. An MP4 or MOV was written with its index
(the 'moov' box) at the end, so a browser had to fetch the whole file before the first frame showed;
it now comes first (FFmpeg's faststart) from every writer: `run`'s file, its remux with the sound,
a batch's join of chunks. AC-3 sound (a TV recording's, a DVD's) was copied into an MP4 as it was,
where Chrome and Firefox play the picture without sound; it is AAC now, and the user is told."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import encode_into, make_clip
from test_video_inputs_s18 import convert

from deepphoto.batch.join import join_chunks
from deepphoto.stream.video_file import VideoFileSink


def boxes(path: Path) -> list[str]:
    """The top-level boxes of an MP4 or MOV, in the order they are stored."""
    data, at, names = path.read_bytes(), 0, []
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        names.append(data[at + 4 : at + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[at + 8 : at + 16], "big")
        if size < 8:
            break
        at += size
    return names


def index_first(path: Path) -> bool:
    names = boxes(path)
    return "moov" in names and "mdat" in names and names.index("moov") < names.index("mdat")


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_a_written_video_has_its_index_before_its_pictures(tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    with VideoFileSink(out, Fraction(25)) as sink:
        for i in range(20):
            sink.write(np.full((48, 64, 3), 10 * i, np.uint8))
    assert index_first(out), boxes(out)  # was ftyp, free, mdat, moov


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_a_video_with_its_sound_copied_in_has_its_index_first(tmp_path, suffix):
    clip = make_clip(tmp_path / "in.mp4", frames=25, audio=True)
    out = convert(clip, tmp_path / f"out{suffix}")
    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.video
    assert index_first(out), boxes(out)


def test_joined_chunks_have_their_index_first(tmp_path):
    chunks = []
    for n in range(2):
        chunk = tmp_path / f"chunk{n}.mp4"
        with VideoFileSink(chunk, Fraction(25)) as sink:
            for i in range(10):
                sink.write(np.full((48, 64, 3), 20 * i + n, np.uint8))
        chunks.append(chunk)
    out = tmp_path / "joined.mp4"
    assert join_chunks(chunks, [0, 10], Fraction(1, 25), out) == 20  # the second 10 frames later
    assert index_first(out), boxes(out)
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 20


def ac3_clip(path: Path) -> Path:
    """A 2 s clip with a stereo 440 Hz tone in AC-3 (FFmpeg's own encoder), in Matroska."""
    rate = 48000
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("ac3", rate=rate)
        a.layout = "stereo"
        frames = []
        for i in range(50):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * i, np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 25)
            frames.append(f)
        encode_into(out, v, frames)
        size = a.codec_context.frame_size or 1536
        t = np.arange(2 * rate) / rate
        wave = np.repeat((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], 2, 0)
        pieces = []
        for start in range(0, wave.shape[1] - size + 1, size):
            f = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(wave[:, start : start + size]), format="fltp", layout="stereo"
            )
            f.sample_rate, f.pts, f.time_base = rate, start, Fraction(1, rate)
            pieces.append(f)
        encode_into(out, a, pieces)
    return path


def test_ac3_sound_into_an_mp4_is_aac_and_said(tmp_path, capsys):
    clip = ac3_clip(tmp_path / "in.mkv")
    out = convert(clip, tmp_path / "out.mp4")
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"  # was ac3: silent in Chrome and Firefox
        level = np.sqrt(np.mean(np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])[4800:-4800] ** 2))
    assert 0.15 < level < 0.28  # the tone (0.3 peak: 0.21 RMS), not silence
    assert "re-encoded as AAC (browsers and many players cannot play it in a .mp4 file)" in capsys.readouterr().err


def test_ac3_sound_into_an_mkv_is_copied(tmp_path):
    clip = ac3_clip(tmp_path / "in.mkv")
    out = convert(clip, tmp_path / "out.mkv")
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "ac3"
