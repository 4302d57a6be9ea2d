"""Files holding more than a picture and one sound track (hunt 31): what ``run`` and ``batch`` keep of
a phone's, a camera's or a film's tags, chapters and tracks, and what they say they leave out."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli
from media import b_frame_avi, encode_into, make_clip, song_with_cover

from deepphoto.stream.video_sound import left_out_tracks, storable_timecode

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]
PHONE_TAGS = {"creation_time": "2024-05-01T10:00:00.000000Z", "location": "+48.8583+002.2945/", "title": "Paris"}
CHAPTERS = [
    {"id": 1, "start": 0, "end": 200, "time_base": Fraction(1, 1000), "metadata": {"title": "Intro"}},
    {"id": 2, "start": 200, "end": 480, "time_base": Fraction(1, 1000), "metadata": {"title": "Main"}},
]


def tagged(clip: Path, out: Path, tags: dict[str, str], chapters: list[dict] | None = None, font: bool = False) -> Path:
    """``clip``'s tracks copied into ``out`` with the file's ``tags`` and ``chapters`` (and a font
    attached, as a film's subtitles come with), as a phone, a camera or an editor writes them."""
    with av.open(str(clip)) as src, av.open(str(out), "w") as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
        dst.metadata.update(tags)
        if chapters:
            dst.set_chapters(chapters)
        if font:
            dst.add_attachment("font.ttf", "application/x-truetype-font", b"\0\1\0\0" + bytes(60))
        for packet in src.demux(*(src.streams[i] for i in streams)):
            if packet.size:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    return out


def tags_of(path: Path) -> dict[str, str]:
    with av.open(str(path)) as c:
        return dict(c.metadata)


def chapters_of(path: Path) -> list[tuple[str, float]]:
    with av.open(str(path)) as c:
        return [(ch["metadata"].get("title", ""), float(ch["start"] * ch["time_base"])) for ch in c.chapters()]


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_a_phone_videos_date_place_and_title_are_kept(capsys, tmp_path, suffix):
    """A phone's video came out dated 'now' and without its place: the date it was filmed
    (creation_time), where (location) and its title were dropped without a word, so a photo
    library sorted the styled copy to today and showed it on no map."""
    clip = make_clip(tmp_path / "clip.mp4", frames=12, audio=True)
    source = tagged(clip, tmp_path / f"phone{suffix}", PHONE_TAGS)
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    kept = tags_of(out)
    assert kept.get("title") == "Paris"
    assert kept.get("creation_time", "").startswith("2024-05-01T10:00:00")
    if suffix != ".mkv":  # Matroska has no place for it
        assert kept.get("location") == PHONE_TAGS["location"]


@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".webm"])
def test_a_recording_without_sound_keeps_its_chapters_and_says_what_it_leaves_out(capsys, tmp_path, suffix):
    """A screen recording without sound went through no second pass: its title and chapters were
    lost, and its attached font (or subtitles) left out without a word, as the message about what
    is left out was only ever said beside a copied sound track."""
    clip = make_clip(tmp_path / "clip.mkv", frames=12)
    source = tagged(clip, tmp_path / "talk.mkv", {"title": "Talk"}, CHAPTERS, font=True)
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert tags_of(out).get("title") == "Talk"
    assert chapters_of(out) == [("Intro", 0.0), ("Main", 0.2)]
    assert "1 attached file left out" in result.err
    assert "sound track" not in result.err  # there is none to copy


def test_chapters_move_with_the_picture_of_a_clip_whose_clock_starts_late(capsys, tmp_path):
    """The output starts at 0 where the source's picture starts (at 0.2 s here): its chapters are
    moved with it, so that each still starts on the picture it named."""
    clip = make_clip(tmp_path / "clip.mkv", frames=12, video_start=5, audio=False)  # the picture at 0.2 s
    source = tagged(clip, tmp_path / "late.mkv", {}, CHAPTERS)
    out = tmp_path / "out.mkv"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert chapters_of(out) == [("Main", 0.0)]  # 'Intro' ended where the picture starts


@pytest.mark.parametrize("suffix", [".mkv", ".webm"])
def test_a_matroska_outputs_picture_and_sound_are_the_tracks_to_play(capsys, tmp_path, suffix):
    """Every track of a Matroska output was flagged 'not default' (the source's default-flagged sound
    too), which players that follow the flags (TVs, some phone players) take as nothing to play."""
    clip = make_clip(tmp_path / "clip.mkv", frames=12, audio=True, audio_codec="libopus")
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", clip, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    with av.open(str(out)) as c:
        assert [bool(s.disposition & av.stream.Disposition.default) for s in c.streams] == [True, True]
    silent = make_clip(tmp_path / "silent.mkv", frames=12)
    out = tmp_path / f"silent_out{suffix}"
    assert cli(capsys, "run", silent, out, *RUN_FAST, *WHOLE_GREY).status == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].disposition & av.stream.Disposition.default


def camera_mov(path: Path) -> Path:
    """A camera's MOV: a picture with a timecode (FFmpeg writes it as a 'tmcd' track) and sound."""
    with av.open(str(path), "w", format="mov") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.metadata["timecode"] = "10:00:00:00"
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        frames = []
        for i in range(10):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="bgr24")
            f.pts = i
            frames.append(f)
        encode_into(out, v, frames)
        blocks = []
        for start in range(0, 19200, 1024):
            block = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            block.sample_rate, block.pts = 48000, start
            blocks.append(block)
        encode_into(out, a, blocks)
    return path


@pytest.mark.parametrize("suffix", [".mov", ".mp4", ".mkv"])
def test_a_cameras_timecode_is_kept(capsys, tmp_path, suffix):
    """A camera's timecode (what an editor lines up several cameras' clips by) was dropped without a
    word; MP4 and MOV keep it in a timecode track, Matroska as a tag."""
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", camera_mov(tmp_path / "cam.mov"), out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert "left out" not in result.err
    with av.open(str(out)) as c:
        said = {str(v) for s in c.streams for k, v in s.metadata.items() if k.lower() == "timecode"}
    assert said == {"10:00:00:00"}


def test_a_timecode_an_mp4_cannot_count_is_not_written():
    """MP4 and MOV refuse a whole file whose timecode track cannot count the video's rate (1000 fps:
    a Matroska video of variable rate): the timecode is left out there, the sound and picture kept."""
    assert storable_timecode("10:00:00:00", "mp4", Fraction(25))
    assert not storable_timecode("10:00:00:00", "mp4", Fraction(1000))
    assert not storable_timecode("10:00:00:00", "mov", Fraction(1000))
    assert storable_timecode("10:00:00:00", "matroska", Fraction(1000))  # a tag


def test_what_is_left_out_names_cover_pictures_and_fonts(tmp_path):
    """The message named only other audio tracks and subtitles: a cover picture and a film's fonts
    went without a word."""
    cover = song_with_cover(tmp_path / "cover.mp4", video=True)
    assert left_out_tracks(cover) == "1 cover picture left out (one sound track is copied)"
    clip = make_clip(tmp_path / "clip.mkv", frames=5)
    assert left_out_tracks(tagged(clip, tmp_path / "f.mkv", {}, font=True)) == "1 attached file left out"
    # an MP4's chapter titles are a track to FFmpeg, not to a player: the chapters are kept, not left out
    assert left_out_tracks(tagged(clip, tmp_path / "ch.mp4", {}, CHAPTERS)) == ""


@pytest.mark.parametrize(("frames", "chunk_seconds"), [(8, 60.0), (30, 0.4)])  # one chunk (it was the video), three
def test_batch_keeps_the_tags_and_chapters_of_a_video_without_sound(tmp_path, frames, chunk_seconds, request):
    """``batch`` copied a video without sound as its joined chunks: its date, title and chapters were
    lost and its attached font left out without a word (``run`` keeps and says them)."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    request.getfixturevalue("local_ray")
    from deepphoto import Settings
    from deepphoto.batch.runner import BatchOptions, BatchRunner

    (tmp_path / "in").mkdir()
    clip = make_clip(tmp_path / "clip.mkv", frames=frames)
    source = tagged(clip, tmp_path / "in" / "talk.mkv", PHONE_TAGS, CHAPTERS, font=True)
    out = tmp_path / "out"
    settings = Settings(effect="grey", region="whole", backend="onnx", precision="fp32", seg_input=(160, 128))
    options = dict(out=out, workers=1, cpus_per_worker=0.5, progress=False, chunk_seconds=chunk_seconds)
    report = BatchRunner([str(source)], settings, BatchOptions(**options, warmup_seconds=0.2)).run()
    outcome = report.outcomes[0]
    assert outcome.status == "done" and "1 attached file left out" in outcome.note, outcome
    assert tags_of(out / "talk.mkv").get("title") == "Paris"
    assert chapters_of(out / "talk.mkv") == [("Intro", 0.0), ("Main", 0.2)]


def test_a_soundless_video_with_tags_keeps_its_start(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A soundless source that carries its own tags goes through the sound's second pass (for the
    tags); it moved the picture to start at 0, where the same file without tags keeps the source's
    start (an AVI with B-frames: its first frame at 1/30 s)."""
    src = b_frame_avi(tmp_path / "tagged.avi", frames=20, title="holiday")
    with av.open(str(src)) as c:
        first = min(float(f.time) for f in c.decode(c.streams.video[0]))
    assert first > 0.02  # the case itself: the picture starts after 0
    out_path = tmp_path / "out.mp4"
    assert cli(capsys, "run", src, out_path, *RUN_FAST, "--effect", "grey").status == 0
    with av.open(str(out_path)) as c:
        assert c.metadata.get("title") == "holiday"  # it was remuxed for its tags
        times = [float(f.time) for f in c.decode(c.streams.video[0])]
    assert times[0] == pytest.approx(first, abs=0.005)
