"""README: 'the same input and settings make the same file' (hunt 31, repro), through what is new
in hunt 31: interlaced video deinterlaced by bwdif as it is read, a soundless file's tags, chapters
and timecode kept by a second pass, a sound's second pass keeping them too. Checked by hand as
well (not here, minutes): a batch in 1-s chunks against `run` (the same frame times, tags,
chapters, timecode and sound; the same pixels in the first chunk), a batch stopped midway and
resumed (the very file), `edit` twice, the Studio's download against `edit`'s picture.

What the promise is not: another machine. x264 divides its work by the processor's cores, and a
file made with one core differs in its bytes (coding noise) from one made with two (``taskset -c
0``); the README says 'on the same machine'. Regression guards: these pass on the code before."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from adversarial import cli, digest
from media import make_clip
from test_hunt31_timing import interlaced_clip
from test_hunt31_tracks import CHAPTERS, PHONE_TAGS, chapters_of, tagged, tags_of

# RUN_FAST without its --threads: the count of inference threads is varied here
CHEAP = ["--backend", "onnx", "--precision", "fp32", "--seg-input", "64x64", "--quiet", "--style", "wave"]


def camcorder_file(tmp_path: Path) -> Path:
    """An interlaced clip with no sound, carrying the date it was filmed, a place, a title, two
    chapters and a camera's timecode (a Matroska's: a tag of its picture)."""
    clip = interlaced_clip(tmp_path / "interlaced.mp4")
    source = tagged(clip, tmp_path / "camcorder.mkv", PHONE_TAGS, CHAPTERS)
    with av.open(str(source)) as src, av.open(str(tmp_path / "timecoded.mkv"), "w") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        stream.metadata["timecode"] = "10:00:00:00"
        dst.metadata.update(src.metadata)
        dst.set_chapters(src.chapters())
        for packet in src.demux(src.streams.video[0]):
            if packet.size:
                packet.stream = stream
                dst.mux(packet)
    return tmp_path / "timecoded.mkv"


@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".mov"])
def test_an_interlaced_tagged_soundless_clip_makes_the_same_file_again(capsys, monkeypatch, tmp_path, suffix):
    source = camcorder_file(tmp_path)
    first = tmp_path / f"styled{suffix}"
    assert cli(capsys, "run", source, first, *CHEAP, "--threads", "1").status == 0
    elsewhere = tmp_path / "another folder"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # another working folder, another name, another count of threads
    again = Path(f"holiday copy{suffix}")
    assert cli(capsys, "run", source, again, *CHEAP, "--threads", "2").status == 0
    assert digest(elsewhere / again) == digest(first)
    kept = tags_of(first)  # what is promised was there to keep: the tags, the chapters
    assert kept.get("title") == "Paris" and kept.get("creation_time", "").startswith("2024-05-01")
    assert [title for title, _ in chapters_of(first)] == ["Intro", "Main"]
    assert "holiday" not in (elsewhere / again).read_bytes().decode("latin-1")  # no file name inside


@pytest.mark.parametrize("suffix", [".webm", ".mov", ".mp4"])
def test_a_tagged_clip_with_sound_makes_the_same_file_again(capsys, tmp_path, suffix):
    """The sound's second pass (copied, or encoded again: AAC into a .webm is Opus) with tags and
    chapters: the same bytes on a second run."""
    clip = make_clip(tmp_path / "clip.mp4", frames=10, audio=True)
    source = tagged(clip, tmp_path / "phone.mp4", PHONE_TAGS, CHAPTERS)
    made = []
    for n in (1, 2):
        out = tmp_path / f"out{n}{suffix}"
        assert cli(capsys, "run", source, out, *CHEAP, "--threads", str(n)).status == 0
        made.append(digest(out))
    assert made[0] == made[1]
    with av.open(str(tmp_path / f"out1{suffix}")) as c:
        assert len(c.streams.audio) == 1  # the sound is there, and the chapters
    assert [title for title, _ in chapters_of(tmp_path / f"out1{suffix}")] == ["Intro", "Main"]
