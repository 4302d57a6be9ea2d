"""PCM sound (a DSLR's or camcorder's MOV, a screen recording's MKV) into an MP4 is re-encoded as AAC.

Copied, it went into an 'ipcm' track that browsers, QuickTime and FFmpeg before 6.1 cannot play
(the last read 24-bit samples as 16-bit: noise). A MOV (QuickTime's 'lpcm') and Matroska still get
the samples as they are."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from media import encode_into
from test_video_inputs_s18 import convert

RATE = 48000


def grey(i: int) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * i, np.uint8), format="rgb24")
    frame.pts, frame.time_base = i, Fraction(1, 25)
    return frame


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return 0.4 * np.sin(2 * np.pi * 440 * t)


def pcm_clip(path, codec: str, fmt: str, audio_from: float = 0.0):
    """A 2 s clip at 25 fps with a 440 Hz tone in ``codec`` (mono), starting at ``audio_from`` s."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream(codec, rate=RATE)
        a.layout, a.format = "mono", fmt
        encode_into(out, v, (grey(i) for i in range(50)))
        wave = tone(2.0 - audio_from)
        scale = {"s16": 32767, "s32": 2**31 - 1, "flt": 1.0}[fmt]
        samples = (wave * scale).astype({"s16": np.int16, "s32": np.int32, "flt": np.float32}[fmt])
        frames = []
        for start in range(0, len(samples), 1000):
            f = av.AudioFrame.from_ndarray(samples[None, start : start + 1000], format=fmt, layout="mono")
            f.sample_rate, f.pts, f.time_base = RATE, start + int(audio_from * RATE), Fraction(1, RATE)
            frames.append(f)
        encode_into(out, a, frames)
    return path


def sound(path) -> tuple[str, float, np.ndarray]:
    """The audio's codec, its start (s) and its samples as floats in [-1, 1]."""
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        start = float(a.start_time * a.time_base) if a.start_time is not None else 0.0
        chunks = []
        for f in c.decode(a):
            x = f.to_ndarray().astype(np.float64)
            chunks.append(x[0] / {"s16": 32768, "s32": 2**31}.get(f.format.name.rstrip("p"), 1.0))
        return a.codec_context.name, start, np.concatenate(chunks)


@pytest.mark.parametrize(("codec", "fmt"), [("pcm_s24le", "s32"), ("pcm_s16le", "s16"), ("pcm_f32le", "flt")])
def test_pcm_into_an_mp4_is_aac_that_sounds_as_the_source(tmp_path, codec, fmt):
    out = convert(pcm_clip(tmp_path / "in.mkv", codec, fmt), tmp_path / "out.mp4")
    name, start, got = sound(out)
    assert name == "aac"
    assert start == pytest.approx(0, abs=1e-3)
    assert len(got) == pytest.approx(2 * RATE, abs=1024)  # as long as the picture, to a frame of AAC
    body = slice(RATE // 10, int(1.9 * RATE))  # past the encoder's first frames
    error = np.sqrt(np.mean((got[body] - tone(2.0)[body]) ** 2))
    assert error < 0.02  # the tone, in time: a 24-bit sample read as 16-bit is noise (error ~0.3)


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_pcm_into_a_mov_or_mkv_is_copied_sample_for_sample(tmp_path, suffix):
    source = pcm_clip(tmp_path / "in.mkv", "pcm_s24le", "s32")
    out = convert(source, tmp_path / f"out{suffix}")
    name, _, got = sound(out)
    _, _, wanted = sound(source)
    assert name == "pcm_s24le" and np.array_equal(got, wanted)


def test_pcm_that_starts_late_stays_in_step_in_an_mp4(tmp_path):
    """Sound that starts 0.5 s after the picture (a recorder that began late) keeps its place: silence
    before it (the track starts at 0, where an MP4 hides the encoder's priming; it did not, and the
    tone came 21 ms early)."""
    out = convert(pcm_clip(tmp_path / "in.mov", "pcm_s16le", "s16", audio_from=0.5), tmp_path / "out.mp4")
    name, start, got = sound(out)
    assert name == "aac" and start == pytest.approx(0, abs=1e-3)
    assert np.sqrt(np.mean(got[: int(0.45 * RATE)] ** 2)) < 0.005  # silence
    half = RATE // 2
    body = slice(RATE // 10, int(1.4 * RATE))
    error = np.sqrt(np.mean((got[half:][body] - tone(1.5)[body]) ** 2))
    assert error < 0.02


def test_vorbis_of_a_webm_into_an_mp4_is_aac_and_said(tmp_path, capsys):
    """A WebM's Vorbis went into the MP4 as it was (no browser plays Vorbis in an MP4); into a MOV,
    which cannot store it, it was dropped with a warning. Both are AAC now, and the user is told."""
    clip = tmp_path / "in.webm"
    with av.open(str(clip), "w") as out:
        v = out.add_stream("libvpx-vp9", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("vorbis", rate=RATE, options={"strict": "-2"})  # FFmpeg's own encoder
        a.layout = "stereo"
        encode_into(out, v, (grey(i) for i in range(50)))
        wave = np.repeat(tone(2.0).astype(np.float32)[None], 2, 0)
        size = a.codec_context.frame_size or 1024
        frames = []
        for start in range(0, wave.shape[1] - size + 1, size):
            piece = np.ascontiguousarray(wave[:, start : start + size])
            f = av.AudioFrame.from_ndarray(piece, format="fltp", layout="stereo")
            f.sample_rate, f.pts, f.time_base = RATE, start, Fraction(1, RATE)
            frames.append(f)
        encode_into(out, a, frames)
    said = {".mp4": "browsers and many players cannot play it in a .mp4 file", ".mov": "a .mov file cannot store it"}
    for suffix, why in said.items():
        out = convert(clip, tmp_path / f"out{suffix}")
        name, start, got = sound(out)
        assert name == "aac" and start == pytest.approx(0, abs=1e-3)
        assert f"vorbis audio (stereo) re-encoded as AAC ({why})" in capsys.readouterr().err
        body = slice(RATE // 10, int(1.8 * RATE))
        assert np.sqrt(np.mean((got[body] - tone(2.0)[body]) ** 2)) < 0.03
