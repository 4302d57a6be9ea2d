"""A film's subtitles (hunt 32): ``run`` and ``batch`` dropped every subtitle track of the source
('1 subtitle track left out'). They are kept now: copied where the output's container stores their
codec, text subtitles written again in its own (SubRip into an MP4 as mov_text, into a WebM as
WebVTT), with their language, title and flags, in time with the picture, cut where the output ends."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import av
import pytest
from adversarial import DEEPPHOTO, RUN_FAST, cli
from media import make_clip

from deepphoto.stream.video_container import video_span

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]
CUES = [
    (0.1, 0.3, "Hello world"),
    (0.5, 0.7, "Second line"),
    (0.9, 1.5, "Last one"),
]  # seconds after the picture starts


def srt_text(cues: list[tuple[float, float, str]]) -> str:
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3600000:02}:{ms // 60000 % 60:02}:{ms // 1000 % 60:02},{ms % 1000:03}"

    return "".join(f"{i}\n{stamp(a)} --> {stamp(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(cues, 1))


def with_subtitles(
    clip: Path,
    out: Path,
    cues: list[tuple[float, float, str]] = CUES,
    codec: str | None = None,
    language: str = "fra",
    title: str = "Français",
) -> Path:
    """``clip``'s tracks and a subtitle track of ``cues`` (SubRip, or written in ``codec``:
    'mov_text' for an MP4) in ``out``, flagged default and forced, as a film's are."""
    srt = out.with_suffix(".srt")
    srt.write_text(srt_text(cues))
    with av.open(str(clip)) as src, av.open(str(srt)) as sub, av.open(str(out), "w") as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        source = sub.streams.subtitles[0]
        if codec is None:
            so = dst.add_stream_from_template(source)
        else:
            source.codec_context.open(strict=False)
            so = dst.add_stream(codec)
            so.codec_context.subtitle_header = source.codec_context.subtitle_header
        so.metadata["language"], so.metadata["title"] = language, title
        so.disposition = av.stream.Disposition.default | av.stream.Disposition.forced
        for packet in src.demux():
            if packet.size:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
        for packet in sub.demux(source):
            if not packet.size:
                continue
            if codec is not None:
                said = source.codec_context.decode2(packet)
                written = so.codec_context.encode_subtitle(said)
                written.pts = written.dts = packet.pts
                written.duration, written.time_base = packet.duration, packet.time_base
                packet = written
            packet.stream = so
            dst.mux(packet)
    srt.unlink()
    return out


def subtitles_of(path: Path) -> tuple[list[tuple[float, float, str]], dict]:
    """The first subtitle track's cues (start and end in seconds after the first frame, the text
    without its styling), read back with FFmpeg's decoder, and what the track says of itself."""
    first = video_span(path)[0] or Fraction(0)
    cues = []
    with av.open(str(path)) as c:
        stream = c.streams.subtitles[0]
        about = {
            "codec": stream.codec_context.codec.canonical_name,
            "language": stream.metadata.get("language"),
            "title": stream.metadata.get("title") or stream.metadata.get("name"),
            "default": bool(stream.disposition & av.stream.Disposition.default),
            "forced": bool(stream.disposition & av.stream.Disposition.forced),
        }
        for packet in c.demux(stream):
            if not packet.size:
                continue
            said = stream.codec_context.decode2(packet)
            text = " ".join(re.sub(r"\{[^}]*\}", "", rect.dialogue.decode()) for rect in said or [])
            if text:  # an MP4's empty samples between cues say nothing
                start = Fraction(packet.pts) * packet.time_base - first
                end = start + Fraction(packet.duration) * packet.time_base
                cues.append((round(float(start), 3), round(float(end), 3), text))
    return cues, about


def picture_end(path: Path) -> float:
    first, end = video_span(path)
    return float(end - first)


@pytest.mark.parametrize(
    ("suffix", "codec"), [(".mkv", "subrip"), (".webm", "webvtt"), (".mp4", "mov_text"), (".mov", "mov_text")]
)
def test_a_films_subtitles_are_kept_in_time(capsys, tmp_path, suffix, codec):
    """A film with SubRip subtitles lost them ('1 subtitle track left out'): they are copied into a
    .mkv, written as WebVTT into a .webm and as mov_text into a .mp4 or .mov, at the same times
    against the picture, with their language, title and flags; the last cut where the picture ends."""
    clip = make_clip(tmp_path / "clip.mkv", frames=25, audio=True)  # 1 s
    source = with_subtitles(clip, tmp_path / "film.mkv")
    assert subtitles_of(source)[0] == CUES
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert "left out" not in result.err
    cues, about = subtitles_of(out)
    end = picture_end(out)
    assert end == pytest.approx(1.0, abs=0.01)
    assert cues == [*CUES[:2], (0.9, pytest.approx(end, abs=0.002), "Last one")]
    assert about["codec"] == codec and about["language"] == "fra" and about["default"]
    if suffix in (".mkv", ".webm"):  # MP4 and MOV name a track in their own way, and flag none as forced
        assert about["title"] == "Français" and about["forced"]
    else:
        assert about["title"] == "Français"
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1  # the sound still copied


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "subrip"), (".mp4", "mov_text")])
def test_an_mp4s_mov_text_subtitles_are_kept(capsys, tmp_path, suffix, codec):
    """A phone's or an editor's MP4 with mov_text subtitles: copied into an MP4, written as SubRip
    into a .mkv (which cannot store mov_text); the title an MP4 keeps as its 'name' is kept."""
    clip = make_clip(tmp_path / "clip.mp4", frames=25)
    source = with_subtitles(clip, tmp_path / "film.mp4", codec="mov_text")
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    cues, about = subtitles_of(out)
    assert cues == [*CUES[:2], (0.9, 1.0, "Last one")]
    assert about["codec"] == codec and about["language"] == "fra" and about["title"] == "Français"


ASS_EVENTS = [
    "0:00:00.10,0:00:00.30,Default,,0,0,0,,First {\\b1}bold{\\b0}",
    "0:00:00.50,0:00:00.90,Default,,0,0,0,,Second",
]


def ass_film(tmp_path: Path, events: list[str] = ASS_EVENTS) -> Path:
    """A .mkv with styled (ASS) subtitles, as fansubs and anime come."""
    script = tmp_path / "s.ass"
    script.write_text(
        "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
        "Bold, Italic, Alignment\nStyle: Default,Arial,16,&Hffffff,0,0,2\nStyle: Top,Arial,16,&Hffffff,0,0,8\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        + "".join(f"Dialogue: 0,{event}\n" for event in events)
    )
    clip = make_clip(tmp_path / "clip.mkv", frames=25)
    out = tmp_path / "anime.mkv"
    with av.open(str(clip)) as src, av.open(str(script)) as sub, av.open(str(out), "w") as dst:
        v = dst.add_stream_from_template(src.streams.video[0])
        s = dst.add_stream_from_template(sub.streams.subtitles[0])
        s.metadata["language"] = "eng"
        for packet in src.demux(src.streams.video[0]):
            if packet.size:
                packet.stream = v
                dst.mux(packet)
        for packet in sub.demux():
            if packet.size:
                packet.stream = s
                dst.mux(packet)
    return out


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "ass"), (".mp4", "mov_text"), (".webm", "webvtt")])
def test_styled_subtitles_are_kept(capsys, tmp_path, suffix, codec):
    """ASS subtitles stay ASS (their styles) in a .mkv, and are written as mov_text or WebVTT where
    the container holds no ASS."""
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", ass_film(tmp_path), out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    cues, about = subtitles_of(out)
    assert cues == [(0.1, 0.3, "First bold"), (0.5, 0.9, "Second")]
    assert about["codec"] == codec and about["language"] == "eng"


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_overlapping_cues_are_each_shown_for_their_time(capsys, tmp_path, suffix):
    """An ASS film shows a sign at the top over the dialogue, and two speakers' lines overlap: an
    MP4's mov_text shows one sample at a time, and FFmpeg's way wrote the first cue for no time and
    moved the next after it. Each stretch shows every cue shown then; a .mkv keeps them as they are."""
    events = [
        "0:00:00.10,0:00:00.50,Default,,0,0,0,,Bottom line",
        "0:00:00.10,0:00:00.30,Top,,0,0,0,,Top sign",
        "0:00:00.20,0:00:00.60,Default,,0,0,0,,Overlapping",
    ]
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", ass_film(tmp_path, events), out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    cues, _ = subtitles_of(out)
    if suffix == ".mkv":
        assert cues == [(0.1, 0.5, "Bottom line"), (0.1, 0.3, "Top sign"), (0.2, 0.6, "Overlapping")]
    else:
        assert cues == [
            (0.1, 0.2, "Bottom line\nTop sign"),
            (0.2, 0.3, "Bottom line\nTop sign\nOverlapping"),
            (0.3, 0.5, "Bottom line\nOverlapping"),
            (0.5, 0.6, "Overlapping"),
        ]


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_run_stopped_early_keeps_the_subtitles_of_its_picture_only(capsys, tmp_path, suffix):
    """--max-frames 10 (0.4 s): the cue shown then is kept, none after the picture's end."""
    clip = make_clip(tmp_path / "clip.mkv", frames=25, audio=True)
    cues = [(0.1, 0.3, "Hello world"), (0.35, 0.6, "Across the end"), (0.5, 0.7, "After it")]
    source = with_subtitles(clip, tmp_path / "film.mkv", cues)
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY, "--max-frames", "10")
    assert result.status == 0, result.err
    end = picture_end(out)
    assert end == pytest.approx(0.4, abs=0.01)
    got, _ = subtitles_of(out)
    assert got == [cues[0], (0.35, pytest.approx(end, abs=0.002), "Across the end")]


def test_subtitles_move_with_a_picture_that_starts_late(capsys, tmp_path):
    """A soundless source whose picture starts at 0.2 s: the output starts at its first frame, and
    the subtitles move with it (one shown across that start is shortened to it)."""
    clip = make_clip(tmp_path / "clip.mkv", frames=25, video_start=5)  # the picture at 0.2 s
    source = with_subtitles(clip, tmp_path / "late.mkv", [(0.1, 0.3, "Early"), (0.5, 0.7, "Later")])
    out = tmp_path / "out.mkv"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert video_span(out)[0] == 0
    assert subtitles_of(out)[0] == [(0.0, 0.1, "Early"), (0.3, 0.5, "Later")]


def dvd_film(tmp_path: Path) -> Path:
    """A .mkv with a DVD's picture subtitles (one packet: what it shows does not matter here)."""
    clip = make_clip(tmp_path / "clip.mkv", frames=10)
    out = tmp_path / "dvd.mkv"
    with av.open(str(clip)) as src, av.open(str(out), "w") as dst:
        v = dst.add_stream_from_template(src.streams.video[0])
        s = dst.add_stream("dvd_subtitle")
        dst.start_encoding()
        for packet in src.demux(src.streams.video[0]):
            if packet.size:
                packet.stream = v
                dst.mux(packet)
        packet = av.Packet(bytes([0, 16, 0, 12]) + bytes(11) + b"\xff")
        packet.pts = packet.dts = 100
        packet.duration, packet.time_base, packet.stream = 200, Fraction(1, 1000), s
        dst.mux(packet)
    return out


def test_picture_subtitles_an_mp4_cannot_store_are_said_left_out(capsys, tmp_path):
    """DVD (or Blu-ray) subtitles are pictures: an MP4 cannot store them, and says so in one line
    naming a container that can; a .mkv keeps them."""
    source = dvd_film(tmp_path)
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    said = [line for line in result.err.splitlines() if "subtitle" in line]
    assert said == [
        "deepphoto: 1 subtitle track left out; a .mp4 file cannot store picture subtitles (dvd_subtitle); "
        "a .mkv output keeps them"
    ]
    with av.open(str(out)) as c:
        assert not c.streams.subtitles and c.streams.video[0].frames == 10
    kept = tmp_path / "out.mkv"
    result = cli(capsys, "run", source, kept, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0 and "left out" not in result.err, result.err
    with av.open(str(kept)) as c:
        assert c.streams.subtitles[0].codec_context.codec.canonical_name == "dvd_subtitle"
        packets = [p for p in c.demux(c.streams.subtitles[0]) if p.size]
        assert [(float(p.pts * p.time_base), float(p.duration * p.time_base)) for p in packets] == [(0.1, 0.2)]


def test_ctrl_c_keeps_the_subtitles_up_to_the_last_frame(tmp_path):
    """Ctrl-C ends a run early: the output plays, with the subtitles shown until then and none after."""
    clip = make_clip(tmp_path / "clip.mkv", frames=200, size=(320, 240), audio=True)  # 8 s
    cues = [(i * 0.2, i * 0.2 + 0.15, f"Cue {i}") for i in range(40)]
    source = with_subtitles(clip, tmp_path / "film.mkv", cues)
    out = tmp_path / "out.mkv"
    job = subprocess.Popen(
        [*DEEPPHOTO, "run", str(source), str(out), *RUN_FAST, "--effect", "cartoon"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not any(p.is_file() for p in tmp_path.glob(".*.partial.*")):
            assert job.poll() is None, job.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        job.send_signal(signal.SIGINT)
        _, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 130 and "Traceback" not in err, err
    end = picture_end(out)
    got, _ = subtitles_of(out)
    assert 0 < end < 8
    shown = [(a, min(b, round(end, 3)), text) for a, b, text in cues if a < end]
    assert len(got) == len(shown) and all(g[2] == s[2] for g, s in zip(got, shown, strict=True))
    assert all(
        g[0] == pytest.approx(s[0], abs=0.002) and g[1] == pytest.approx(s[1], abs=0.002)
        for g, s in zip(got, shown, strict=True)
    )


@pytest.mark.parametrize(("frames", "chunk_seconds"), [(25, 60.0), (25, 0.4)])  # one chunk, three
def test_batch_keeps_the_subtitles(tmp_path, frames, chunk_seconds, request):
    """``batch`` kept no subtitles either, in one chunk or several joined."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    request.getfixturevalue("local_ray")
    from deepphoto import Settings
    from deepphoto.batch.runner import BatchOptions, BatchRunner

    (tmp_path / "in").mkdir()
    clip = make_clip(tmp_path / "clip.mkv", frames=frames, audio=True)
    source = with_subtitles(clip, tmp_path / "in" / "film.mkv")
    out = tmp_path / "out"
    settings = Settings(effect="grey", region="whole", backend="onnx", precision="fp32", seg_input=(160, 128))
    options = dict(out=out, workers=1, cpus_per_worker=0.5, progress=False, chunk_seconds=chunk_seconds)
    report = BatchRunner([str(source)], settings, BatchOptions(**options, warmup_seconds=0.2)).run()
    outcome = report.outcomes[0]
    assert outcome.status == "done" and "left out" not in outcome.note, outcome
    cues, about = subtitles_of(out / "film.mkv")
    assert cues == [*CUES[:2], (0.9, 1.0, "Last one")]
    assert about["language"] == "fra" and about["title"] == "Français"
