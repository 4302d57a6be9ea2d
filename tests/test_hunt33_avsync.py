"""Hunt 33 (avsync): sound in step with the picture in ``run``'s and ``batch``'s outputs, measured as a
user sees it: a clip whose white frames and clicks coincide, restyled, then decoded again to find
where each flash and each click lands (a lip-sync error over 45 ms with the sound ahead, or 125 ms
behind it, is visible: ITU-R BT.1359).

Recordings joined end to end (``cat a.ts b.ts``, each one's clock starting again): the picture of
each recording went on one frame after the last one's, and its sound after the last one's sound, so
where a recording's sound and picture did not start and end together (a camera starts its sound
0.2 s after the picture) the sound of every recording after the first came that much early, or
late, and the errors added up, join after join: 165 ms ahead after one join. The sound now goes
where its recording's picture went.

An MPEG-TS recording joined after one whose clock was more than a minute later (a broadcast
recorded at 20:00 and one at 19:00, a recording cut out of a longer one with its times kept): FFmpeg
read the clock going back as one that wrapped round its 33 bits and put the second recording 26.5
hours later. ``run`` into an .mp4 stopped with "cannot write the output (PatchWelcomeError: Not yet
implemented in FFmpeg, patches welcome ...)", into an .mkv wrote a 26.5-hour file (a frozen picture
for 26 hours in the middle), and ``batch`` squashed the second recording's 300 frames into 0.07 s and
lost its sound. FFmpeg is now asked not to guess wraps: a clock that goes back is one that started
again, as for any recordings joined end to end (a real wrap, 26.5 hours of clock apart, is one too).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]
FPS = 30
RATE = 48000


def flash_click_ts(
    path: Path, seconds: float, video_start: float, audio_start: float, events: tuple[float, ...]
) -> Path:
    """An MPEG-TS recording, 64x48 at 30 fps, its picture's clock starting at ``video_start`` and its
    sound's (mono AAC) at ``audio_start`` (seconds); at each of ``events`` (seconds after
    ``video_start``, on a frame) its frame is white (else dark grey) and its sound a click (10 ms of
    1 kHz), at the same moment."""
    frames = round(seconds * FPS)
    flashes = {round(e * FPS) for e in events}
    with av.open(str(path), "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.time_base = Fraction(1, FPS)
        a = out.add_stream("aac", rate=RATE)
        a.layout = "mono"
        packets = []
        first = round(video_start * FPS)
        for i in range(frames):
            level = 255 if i in flashes else 40
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), level, np.uint8), format="bgr24")
            frame.pts, frame.time_base = first + i, Fraction(1, FPS)
            packets += v.encode(frame)
        packets += v.encode()
        begin, end = round(audio_start * RATE), round((video_start + seconds) * RATE)
        sound = np.zeros(end - begin + 1024, np.float32)
        click = 0.8 * np.sin(2 * np.pi * 1000 * np.arange(RATE // 100) / RATE)
        for e in events:
            at = round((video_start + round(e * FPS) / FPS) * RATE) - begin
            if 0 <= at < len(sound) - len(click):
                sound[at : at + len(click)] = click
        for start in range(0, end - begin, 1024):
            chunk = av.AudioFrame.from_ndarray(sound[None, start : start + 1024].copy(), format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = RATE, begin + start, Fraction(1, RATE)
            packets += a.encode(chunk)
        packets += a.encode()
        for packet in sorted(packets, key=lambda p: float((p.dts if p.dts is not None else p.pts) * p.time_base)):
            out.mux(packet)
    return path


def flashes(path: Path) -> list[float]:
    """When each run of white frames starts (seconds, as decoded)."""
    found, before = [], False
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            white = float(frame.to_ndarray(format="gray").mean()) > 150
            if white and not before:
                found.append(float(frame.time))
            before = white
    return found


def clicks(path: Path) -> list[float]:
    """When each click starts (seconds, as decoded): the first loud sample after 0.2 s of quiet."""
    found, last = [], -1.0
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            samples = np.abs(frame.to_ndarray().astype(np.float32))
            if not frame.format.is_planar:
                samples = samples.reshape(-1, frame.layout.nb_channels).T
            if samples.dtype != np.float32 or frame.format.name.startswith("s"):
                samples = samples / 32768.0
            for i in np.nonzero(samples.max(axis=0) > 0.25)[0]:
                t = float(frame.time) + i / frame.sample_rate
                if t - last > 0.2:
                    found.append(t)
                last = t
    return found


def sync_errors(path: Path) -> list[float]:
    """Each flash's click, in ms after it (negative: the sound ahead); a flash without a click within
    a second is NaN."""
    heard = clicks(path)
    errors = []
    for seen in flashes(path):
        near = [t - seen for t in heard if abs(t - seen) < 1.0]
        errors.append(round(1000 * min(near, key=abs), 1) if near else float("nan"))
    return errors


def in_step(errors: list[float], count: int) -> bool:
    return len(errors) == count and all(-45 <= e <= 45 for e in errors)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_joined_recordings_keep_each_ones_sound_with_its_picture(capsys, tmp_path, suffix):
    """Two recordings joined, the second's clock back at 0; in each the sound starts 0.2 s after the
    picture. Was: after the join the sound 165 ms ahead (the second's sound placed right after the
    first's, which ends with its picture)."""
    first = flash_click_ts(tmp_path / "a.ts", 3.0, 30.0, 30.2, (1.0, 2.5))
    second = flash_click_ts(tmp_path / "b.ts", 3.0, 0.0, 0.2, (1.0, 2.5))
    assert in_step(sync_errors(first), 2) and in_step(sync_errors(second), 2)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", joined, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    errors = sync_errors(out)
    assert in_step(errors, 4), errors
    seen = flashes(out)
    assert seen[2] - seen[0] == pytest.approx(3.0, abs=0.02)  # the second recording one frame after the first


def test_a_batch_keeps_joined_recordings_sound_with_their_picture(tmp_path, request):
    """The same through ``deepphoto batch`` (a clock that starts again: one chunk, joined with the
    source's sound as ``run`` copies it). Was: 165 ms ahead after the join."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    request.getfixturevalue("local_ray")
    from deepphoto import Settings
    from deepphoto.batch.runner import BatchOptions, BatchRunner

    first = flash_click_ts(tmp_path / "a.ts", 3.0, 30.0, 30.2, (1.0, 2.5))
    second = flash_click_ts(tmp_path / "b.ts", 3.0, 0.0, 0.2, (1.0, 2.5))
    (tmp_path / "in").mkdir()
    joined = tmp_path / "in" / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    settings = Settings(effect="grey", region="whole", backend="onnx", precision="fp32", seg_input=(64, 64))
    options = BatchOptions(out=tmp_path / "out", workers=1, cpus_per_worker=0.5, progress=False, chunk_seconds=1.0)
    report = BatchRunner([str(joined)], settings, options).run()
    assert report.outcomes[0].status == "done", report.outcomes[0]
    errors = sync_errors(tmp_path / "out" / "joined.mp4")
    assert in_step(errors, 4), errors


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_recording_joined_after_a_later_clock_is_not_26_hours_later(capsys, tmp_path, suffix):
    """The first recording's clock at 100 s, the second's at 0 (more than a minute back: FFmpeg took
    it for a wrap). Was: .mp4 'PatchWelcomeError ...', exit 2; .mkv 95,354 s long."""
    first = flash_click_ts(tmp_path / "a.ts", 2.0, 100.0, 100.0, (1.0,))
    second = flash_click_ts(tmp_path / "b.ts", 2.0, 0.0, 0.0, (1.0,))
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", joined, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    with av.open(str(out)) as c:
        assert c.duration / 1e6 == pytest.approx(4.0, abs=0.1)
        assert sum(1 for _ in c.decode(video=0)) == 120
    errors = sync_errors(out)
    assert in_step(errors, 2), errors
    seen = flashes(out)
    assert seen[1] - seen[0] == pytest.approx(2.0, abs=0.02)  # the second recording one frame after the first
