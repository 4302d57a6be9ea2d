"""Video files a user has, found by hunt 29 (``run`` on real-world containers and damage)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli
from media import encode_into, grey_frame, make_clip, probe, stream_end, ts_part

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]


def audio_dts(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [p.dts for p in c.demux(c.streams.audio[0]) if p.size and p.dts is not None]


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_recordings_joined_with_a_little_overlap_keep_their_sound_as_it_is(capsys, tmp_path, suffix):
    """Two .ts recordings joined (cat a.ts b.ts) where the second starts 0.1 s before the first
    ends: the overlapping sound went one tick after the last packet, two packets at one time in the
    output; an MP4 or MOV refused them and the sound was encoded again, said as 'aac audio re-encoded
    as AAC (a .mp4 file cannot store it)', and a Matroska file held them squeezed into a millisecond."""
    joined = tmp_path / "joined.ts"
    joined.write_bytes(
        ts_part(tmp_path / "a.ts", 0, 30, 300, audio=True) + ts_part(tmp_path / "b.ts", 30, 30, 327, audio=True)
    )
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", joined, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert "re-encoded" not in result.err and "not copied" not in result.err, result.err
    dts = audio_dts(out)
    assert len(dts) > 50 and all(b > a for a, b in zip(dts, dts[1:]))  # each packet after the one before


def two_languages(path: Path, default: int) -> Path:
    """A film as a user has one: a picture and two sound tracks, English (440 Hz) and French
    (880 Hz), track ``default`` (0 or 1) flagged as the one to play."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        tracks = []
        for i, language in enumerate(("eng", "fra")):
            a = out.add_stream("aac", rate=48000)
            a.layout = "mono"
            a.metadata["language"] = language
            a.disposition = av.stream.Disposition.default if i == default else av.stream.Disposition(0)
            tracks.append(a)
        encode_into(out, v, (grey_frame((48, 64), 10 * i, i) for i in range(25)))
        for i, a in enumerate(tracks):
            t = np.arange(48000) / 48000
            tone = (0.3 * np.sin(2 * np.pi * 440 * (i + 1) * t)).astype(np.float32)

            def blocks(tone: np.ndarray = tone) -> Iterator[av.AudioFrame]:
                for start in range(0, 48000, 1024):
                    frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="fltp", layout="mono")
                    frame.sample_rate, frame.pts = 48000, start
                    yield frame

            encode_into(out, a, blocks())
    return path


def pitch(path: Path) -> float:
    """The main frequency of the output's sound (Hz)."""
    with av.open(str(path)) as c:
        samples = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
        rate = c.streams.audio[0].sample_rate
    n = rate // 2
    spectrum = np.abs(np.fft.rfft(samples[:n]))
    return float(np.argmax(spectrum) * rate / n)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_film_with_two_sound_tracks_keeps_the_one_players_play_with_its_language(capsys, tmp_path, suffix):
    """The first sound track was copied whatever the file said to play (the French film came out
    in English), without its language, and the other track was dropped without a word."""
    source = two_languages(tmp_path / "film.mkv", default=1)
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1 and c.streams.audio[0].metadata.get("language") == "fra"
    assert pitch(out) == pytest.approx(880, abs=10)
    assert "1 more audio track (eng) left out" in result.err


@pytest.mark.parametrize("name", ["clip.jpg", "clip.PNG", "clip.webp"])
def test_a_video_named_as_a_photo_is_played_as_the_video_it_is(capsys, tmp_path, name):
    """A clip saved under a photo's name (a messenger's download, a renamed file) was refused as
    'not a readable image', though FFmpeg reads it by its content, as players do."""
    source = make_clip(tmp_path / "clip.mp4", frames=10, audio=True)
    misnamed = source.rename(tmp_path / name)
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", misnamed, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert f"{misnamed}: is a video (mov,mp4" in result.err and "read as a video" in result.err
    assert probe(out)["frames"] == 10 and probe(out)["audio"]


def test_a_damaged_photo_is_still_said_to_be_one(capsys, tmp_path):
    damaged = tmp_path / "photo.jpg"
    damaged.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    result = cli(capsys, "run", damaged, tmp_path / "out.png", *RUN_FAST, *WHOLE_GREY)
    assert result.status == 2 and "not a readable image" in result.err, result.err


@pytest.mark.parametrize("name", ["out.webp", "out.png"])
def test_a_clip_into_one_image_says_only_its_last_frame_is_there(capsys, tmp_path, name):
    """'run clip.mp4 out.webp' wrote a still of the clip's last frame, and said '10 frames ... ->
    out.webp' as if they were all in it."""
    source = make_clip(tmp_path / "clip.mp4", frames=10)
    result = cli(capsys, "run", source, tmp_path / name, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert "the last of 10 frames" in result.err and "out.mp4" in result.err, result.err


def test_one_photo_into_one_image_has_no_such_warning(capsys, tmp_path):
    source = make_clip(tmp_path / "one.mp4", frames=1)
    result = cli(capsys, "run", source, tmp_path / "out.png", *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0 and "warning" not in result.err, result.err


def test_an_avi_cut_short_says_so(capsys, tmp_path):
    """An AVI cut in half (a download or copy that stopped) has no index at its end: FFmpeg gave its
    length as what it found, so the run said nothing of the half that was missing. Its header's
    frame count is the whole."""
    whole = tmp_path / "whole.avi"
    with av.open(str(whole), "w") as out:
        v = out.add_stream("mjpeg", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuvj420p"
        a = out.add_stream("pcm_s16le", rate=8000)
        a.layout = "mono"
        for i in range(40):  # a frame, then its sound, as a camera writes them
            image = np.random.default_rng(i).integers(0, 255, (48, 64, 3), np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuvj420p")
            frame.pts = i
            for packet in v.encode(frame):
                out.mux(packet)
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 320), np.int16), format="s16", layout="mono")
            sound.sample_rate, sound.pts = 8000, 320 * i
            for packet in a.encode(sound):
                out.mux(packet)
        for stream in (v, a):
            for packet in stream.encode():
                out.mux(packet)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", cut, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert "decoding stopped at" in result.err and "of 1.60 s" in result.err, result.err
    assert 10 < probe(out)["frames"] < 30
    result = cli(capsys, "run", whole, tmp_path / "whole.mp4", *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0 and "warning" not in result.err, result.err


def test_an_mp4_cut_before_its_index_says_why_it_cannot_be_read(capsys, tmp_path):
    """A phone's recording cut short (the battery died, a copy stopped) keeps its index at the end:
    without it nothing can be read, and the error said only 'Invalid data found when processing
    input'."""
    whole = make_clip(tmp_path / "whole.mp4", frames=20)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = cli(capsys, "run", cut, tmp_path / "out.mp4", *RUN_FAST, *WHOLE_GREY)
    assert result.status == 2 and len(result.errors) == 1, result.err
    assert "no index ('moov' box)" in result.err and "cut short" in result.err, result.err
    assert not (tmp_path / "out.mp4").exists()


def camera_clip(path: Path, codec: str) -> Path:
    """A cheap camera's clip: MJPEG and ``codec`` sound (ADPCM in an AVI, mu-law in a MOV), 8 kHz."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("mjpeg", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuvj420p"
        a = out.add_stream(codec, rate=8000)
        a.layout = "mono"
        encode_into(out, v, (grey_frame((48, 64), 20 * i, i).reformat(format="yuvj420p") for i in range(10)))
        fmt = a.codec_context.format.name
        block = a.codec_context.frame_size or 800
        t = np.arange(8000) / 8000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)[None]

        def blocks() -> Iterator[av.AudioFrame]:
            for start in range(0, 8000 - block + 1, block):
                frame = av.AudioFrame.from_ndarray(tone[:, start : start + block], format=fmt, layout="mono")
                frame.sample_rate, frame.pts = 8000, start
                yield frame

        encode_into(out, a, blocks())
    return path


@pytest.mark.parametrize(("name", "codec"), [("cam.avi", "adpcm_ima_wav"), ("cam.mov", "pcm_mulaw")])
def test_a_cameras_sound_that_matroska_cannot_store_is_aac_in_an_mkv(capsys, tmp_path, name, codec):
    """A cheap camera's ADPCM or mu-law sound into an .mkv was dropped, with 'audio not copied: a
    .mkv file cannot store adpcm_ima_wav audio ...; a .mkv output takes any audio codec'; an .mp4
    of the same clip had it, as AAC."""
    source = camera_clip(tmp_path / name, codec)
    out = tmp_path / "out.mkv"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert f"{codec} audio" in result.err and "re-encoded as AAC (a .mkv file cannot store it)" in result.err
    assert "not copied" not in result.err, result.err
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
    assert pitch(out) == pytest.approx(440, abs=10)


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mkv"])
def test_a_webm_is_written_as_vp9_with_opus_sound(capsys, tmp_path, name):
    """'run clip.mp4 out.webm' was refused ('unknown output type'): a WebM, what a web page plays,
    could not be written. It is VP9, its sound copied where WebM holds it (Opus from the .mkv),
    else encoded as Opus (AAC from the .mp4), and said."""
    source = make_clip(tmp_path / name, frames=12, audio=True, audio_codec="libopus" if name.endswith("mkv") else "aac")
    out = tmp_path / "out.webm"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert ("aac audio (mono) re-encoded as Opus" in result.err) == name.endswith("mp4"), result.err
    with av.open(str(out)) as c:
        assert c.format.name.startswith("matroska")
        assert c.streams.video[0].codec_context.name == "vp9"
        assert c.streams.audio[0].codec_context.name == "opus"
    got = probe(out)
    assert got["frames"] == 12 and got["fps"] == 25
    assert stream_end(out, "audio") == pytest.approx(stream_end(out, "video"), abs=0.05)
