"""Review of hunt 29's merged changes: what they broke or left half done.

A HEIC photo under a .jpg name (or an AVIF cut short) was taken for 'a video saved under a photo's
name' and played as FFmpeg reads it (the HEIC's first tile; the cut AVIF 'no frame could be
decoded'), instead of the photo's own reason. Subtitles in a letterboxed film's bottom bar made the
new black-bar box come and go: the bars flipped between black and painted at every subtitle. 4.0
sound into a .webm was lost (libopus refuses the layout). A dark edge at one side of a frame sent
every frame through the full bar search (6-7 ms a 1920x1080 frame)."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from adversarial import RUN_FAST, cli, digest, refused
from media import make_clip
from test_hunt21_heic import heic_grid
from test_hunt29_clips import PAINT, padded, picture, run_clip
from test_hunt29_leftovers import surround_clip
from test_video_inputs_s18 import convert

from deepphoto import frames
from deepphoto.batch.inputs import expand_inputs, kind_of
from deepphoto.picture_box import picture_box
from deepphoto.stream.video_container import video_by_content


def test_a_heic_photo_named_jpg_is_refused_as_heic_not_played_as_a_video(capsys, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    photo = tmp_path / "IMG_0001.jpg"  # an iPhone photo shared under a .jpg name
    shutil.copy(heic_grid(tmp_path / "IMG_0001.HEIC", work), photo)
    assert video_by_content(photo) is None
    result = refused(capsys, "run", photo, tmp_path / "out.mp4", *RUN_FAST, "--effect", "grey", says="a HEIC photo")
    assert "is a video" not in result.err
    assert not (tmp_path / "out.mp4").exists()


def test_an_avif_cut_short_is_not_taken_for_a_video(tmp_path):
    ok, data = cv2.imencode(".avif", picture(64, 96))
    if not ok:
        pytest.skip("this OpenCV writes no AVIF")
    cut = tmp_path / "cut.avif"
    cut.write_bytes(data.tobytes()[: len(data) * 2 // 3])
    assert video_by_content(cut) is None  # FFmpeg reads it as a video: 'is a video', then 'no frame'


def captioned(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``frame`` with a white subtitle in its bottom bar, as a film's are drawn."""
    out = frame.copy()
    bottom = box[1]
    cv2.putText(out, "I am not throwing", (30, bottom + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
    return out


def test_a_subtitle_in_the_bottom_bar_keeps_the_box() -> None:
    frame, box = padded(picture(108, 192), 200, 192)  # bars of 46 rows
    with_text = captioned(frame, box)
    assert int(with_text[box[1] :].max()) == 255  # the subtitle is in the bar
    assert picture_box(frame) == box
    assert picture_box(with_text, box) == box  # was None: the whole frame painted, bars and all
    reached = frame.copy()
    reached[box[1] : box[1] + 2] = 200  # the picture itself reaching into the bar: found afresh
    assert picture_box(reached, box) != box
    banner = frame.copy()
    banner[box[1] + 5 : -5, 10:-10] = 200  # more than a caption lit in the bars: found afresh
    assert picture_box(banner, box) != box


def test_black_bars_stay_black_while_subtitles_come_and_go() -> None:
    frames_in = []
    for t in range(6):
        frame, box = padded(np.roll(picture(108, 192), 3 * t, axis=1), 200, 192)
        frames_in.append(captioned(frame, box) if t in (2, 3) else frame)
    top, bottom, left, right = box
    outs, _ = run_clip(frames_in, "background")
    for t, out in enumerate(outs):
        assert int(out[:top].max()) == 0, t  # was painted slate blue while a subtitle showed
        assert not (out[bottom:] == PAINT).all(axis=2).any(), t
        assert (out[top:bottom, left:right] == PAINT).all(axis=2).mean() > 0.5, t


def test_one_dark_edge_is_not_searched_for_bars(monkeypatch) -> None:
    """A dark floor or sky at one edge only cannot be a pair of bars: it went through the whole
    search each frame (cv2.resize of the frame twice and more: 6-7 ms a 1920x1080 frame)."""
    calls = []
    real = frames.cv2.resize
    monkeypatch.setattr(frames.cv2, "resize", lambda *a, **k: calls.append(1) or real(*a, **k))
    dark_floor = picture(120, 160)
    dark_floor[-20:] = 5
    assert picture_box(dark_floor) is None
    assert not calls
    letterbox, box = padded(picture(90, 160), 120, 160)
    assert picture_box(letterbox) == box  # a pair of black edges is still searched


def test_four_channel_sound_into_a_webm_keeps_its_sound(tmp_path: Path) -> None:
    """'4.0' (a centre behind) AAC into a .webm: libopus refused the layout ('Invalid channel
    layout 4.0 for specified mapping family'), the sound was left out with a warning."""
    clip = surround_clip(tmp_path / "in.mkv", "aac", "4.0")
    out = convert(clip, tmp_path / "out.webm")
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "opus"
        assert stream.codec_context.channels >= 4


@pytest.mark.parametrize("suffix", [".webm", ".mkv"])
def test_the_same_input_and_settings_make_the_same_matroska_file(capsys, tmp_path: Path, suffix: str) -> None:
    """README: 'the same input and settings make the same file'. A .webm (new today) or .mkv drew
    its track and segment ids at random: two runs differed in 32 bytes."""
    clip = make_clip(tmp_path / "in.mp4", frames=8, audio=True)
    made = []
    for n in (1, 2):
        out = tmp_path / f"out{n}{suffix}"
        assert cli(capsys, "run", clip, out, *RUN_FAST, "--effect", "grey", "--region", "whole").status == 0
        made.append(digest(out))
    assert made[0] == made[1]


def test_a_title_card_on_black_is_not_a_picture_inside_bars() -> None:
    """Lettering on black (main's test_hunt29_fades shows such a card as it is): an exact scan of
    the black rows found 'THE END' as a picture inside bars."""
    card = np.zeros((96, 128, 3), np.uint8)
    cv2.putText(card, "THE END", (30, 52), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    assert picture_box(card) is None


def test_odd_frames_into_a_webm_are_not_said_to_be_h264(capsys, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "odd.mkv", frames=3, size=(97, 65))
    result = cli(capsys, "run", clip, tmp_path / "out.webm", *RUN_FAST, "--effect", "grey", "--region", "whole")
    assert result.status == 0, result.err
    said = [w for w in result.warnings if "written as 96x64" in w]
    assert said and "VP9 in 4:2:0" in said[0] and "H.264" not in said[0], result.err


def test_batch_plays_a_clip_named_as_a_photo_as_run_does(tmp_path):
    """`run clip.jpg` (an MP4 under a photo's name) plays it with a warning; `batch` refused the same
    file as 'not a readable image'. Both take it as the video it is; a real photo stays a photo."""
    folder = tmp_path / "in"
    folder.mkdir()
    clip = make_clip(folder / "clip.mp4")
    clip.rename(folder / "clip.jpg")
    cv2.imwrite(str(folder / "photo.jpg"), picture(48, 64))
    assert kind_of(folder / "clip.jpg") == "video"
    assert kind_of(folder / "photo.jpg") == "image"
    (folder / "noise.jpg").write_bytes(bytes(np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8)))
    assert kind_of(folder / "noise.jpg") == "image"  # neither: fails as the photo its name says
    items, _ = expand_inputs([folder], tmp_path / "out")
    named = {item.source.name: item.output.name for item in items}
    assert named["clip.jpg"] == "clip.mp4" and named["photo.jpg"] == "photo.png"


def test_a_stop_whose_interrupt_was_swallowed_still_stops_the_stream() -> None:
    """A SIGTERM that arrived while Python ran an import lock's callback raised its KeyboardInterrupt
    there, where Python prints 'Exception ignored in' and goes on: the stop was lost, `run` went on
    to the end and exited 0 (CI, tests/test_signals.py). The stream now reads the stop at each frame."""
    from deepphoto.stream import stopping
    from deepphoto.stream.loop import run_stream
    from deepphoto.stream.processor import StageTimes
    from deepphoto.stream.sinks import NullSink
    from deepphoto.stream.sources import Synthetic

    class Passing:
        times = StageTimes()

        def __call__(self, image: np.ndarray) -> np.ndarray:
            return image

    stopping._State.stopping = True  # the handler ran; its KeyboardInterrupt went nowhere
    try:
        summary = run_stream(Synthetic((64, 48), fps=30, frames=50), NullSink(), Passing(), progress=False)
    finally:
        stopping._State.stopping = False
    assert summary.interrupted and summary.frames_in == 0


def test_a_command_whose_stop_was_swallowed_ends_interrupted(monkeypatch, capsys) -> None:
    """Whatever command ran on past a swallowed stop ends with status 130 and 'interrupted', not 0."""
    from deepphoto.commands import cli, styles
    from deepphoto.stream import stopping

    def stopped_meanwhile(args: object) -> int:
        stopping._State.stopping = True
        return 0

    monkeypatch.setattr(styles, "run", stopped_meanwhile)
    assert cli.main(["styles"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_a_stop_raised_where_python_cannot_raise_it_prints_no_traceback() -> None:
    """Python reports an exception raised in a weakref callback as 'Exception ignored in' with a
    traceback; a stop's KeyboardInterrupt there is dropped without a word (the stop is read after).
    In a process of its own: pytest puts its own hook in for such exceptions."""
    import subprocess
    import sys

    script = """
import weakref
from deepphoto.stream import stopping
class Thing:
    pass
with stopping.ending_signals():
    thing = Thing()
    ref = weakref.ref(thing, lambda r: stopping._stop(15, None))
    del thing
    print("stop asked", stopping.stop_asked())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "stop asked True" in done.stdout
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr, done.stderr
