"""Hunt 29 (leftovers). Five-point-one AC-3 or E-AC-3 sound (a TV recording's, a film's), which FFmpeg
decodes as '5.1(side)', went into an MP4 as AAC with a program config element (channel configuration
0, '6 channels'): Chrome, Firefox and many players refuse it or play it wrong. It is AAC in a
standard layout now, each channel in its place."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import encode_into
from test_video_inputs_s18 import convert

from deepphoto.stream.video_file import aac_layout


def surround_clip(path: Path, codec: str, layout: str) -> Path:
    """A 2 s clip whose sound is a 440 Hz tone, 0.05 louder in each channel than in the one before."""
    rate = 48000
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream(codec, rate=rate)
        a.layout = layout
        pictures = []
        for i in range(50):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * i, np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 25)
            pictures.append(f)
        encode_into(out, v, pictures)
        n, size, fmt = a.codec_context.channels, a.codec_context.frame_size or 1536, a.codec_context.format.name
        t = np.arange(2 * rate) / rate
        wave = np.stack([(0.05 * (k + 1) * np.sin(2 * np.pi * 440 * t)).astype(np.float32) for k in range(n)])
        pieces = []
        for start in range(0, wave.shape[1] - size + 1, size):
            piece = np.ascontiguousarray(wave[:, start : start + size])
            f = av.AudioFrame.from_ndarray(piece, format=fmt, layout=layout)
            f.sample_rate, f.pts, f.time_base = rate, start, Fraction(1, rate)
            pieces.append(f)
        encode_into(out, a, pieces)
    return path


def channel_configuration(stream: av.audio.stream.AudioStream) -> int:
    """The channel configuration of an AAC stream's AudioSpecificConfig (0: a program config element)."""
    return (int.from_bytes(bytes(stream.codec_context.extradata)[:2], "big") >> 3) & 0xF


@pytest.mark.parametrize("codec", ["ac3", "eac3"])
def test_five_point_one_sound_into_an_mp4_is_standard_aac(tmp_path, codec):
    clip = surround_clip(tmp_path / "in.mkv", codec, "5.1(side)")
    out = convert(clip, tmp_path / "out.mp4")
    with av.open(str(out)) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "aac"
        assert stream.codec_context.layout.name == "5.1"  # was '6 channels'
        assert channel_configuration(stream) == 6  # was 0: a program config element
        sound = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)[:, 4800:-4800]
    level = np.sqrt((sound**2).mean(axis=1)) / (0.05 / np.sqrt(2))
    # each channel where it was (the side surrounds as the back ones); AC-3's LFE keeps no 440 Hz
    assert np.allclose(level[[0, 1, 2, 4, 5]], [1, 2, 3, 5, 6], atol=0.1), level


@pytest.mark.parametrize(
    ("layout", "aac"),
    [
        ("stereo", "stereo"),
        ("5.1(side)", "5.1"),
        ("5.0(side)", "5.0"),
        ("quad", "5.0"),
        ("2.1", "5.1"),
        ("6.1", "7.1"),
        ("7.1(wide)", "7.1"),
    ],
)
def test_every_layout_is_encoded_in_one_an_aac_header_names(layout, aac):
    assert aac_layout(av.AudioLayout(layout)) == aac
