"""Time in video files, found by hunt 31 (``run`` and ``batch`` on variable frame rates, slow motion,
time-lapse, NTSC rates, offsets, edit lists, gaps, interlaced and cut files).

Interlaced video (a camcorder's 1080i, a TV recording, DV: each frame two fields of moments 1/50 s
apart, woven) was read woven: a moving edge was combed in every frame the networks saw and in the
output, which is written progressive, so no player deinterlaces it as it did the source. Frames are
deinterlaced as they are decoded now (FFmpeg's bwdif, one frame a frame), their timing kept.

An MP4 or MOV cut without re-encoding (``ffmpeg -ss 25 -i in.mp4 -c copy``, a phone's trim) keeps the
frames from the keyframe before the cut, decoded but never shown (its edit list starts at the cut),
and its header counts them: ``run``'s progress bar had 400 frames to go for 150 (it ended at 37%, its
ETA 2.7 times too long), and a batch's first estimate as many. The count is the frames it shows."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli
from media import make_clip

from deepphoto.batch.chunks import probe_video
from deepphoto.stream.sources import open_source
from deepphoto.stream.video_file import VideoFileSource

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]
FRAMES, FPS = 8, 25


def interlaced_clip(path: Path) -> Path:
    """A white bar moving right over grey, 25 frames a second, each frame's top field taken at its
    time and its bottom field 1/50 s later (the bar 12 pixels on): H.264 coded interlaced, top field
    first, as a camcorder records it."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = 128, 96, "yuv420p"
        v.options = {"x264-params": "interlaced=1:tff=1", "crf": "10"}
        for i in range(FRAMES):
            img = np.full((96, 128, 3), 100, np.uint8)
            for parity, x in ((0, 8 + 24 * i), (1, 20 + 24 * i)):
                img[parity::2, x % 96 : x % 96 + 24] = 255
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return path


def combing(image: np.ndarray) -> float:
    """How far each line is from the mean of the lines above and below it (mean grey levels): a woven
    frame's moving edge is a comb, every other line out."""
    grey = image.astype(np.float32).mean(axis=2)
    return float(np.abs(grey[1:-1] - (grey[:-2] + grey[2:]) / 2).mean())


def frames_of(path: Path) -> tuple[list[np.ndarray], list[float]]:
    with av.open(str(path)) as c:
        decoded = list(c.decode(c.streams.video[0]))
    return [f.to_ndarray(format="bgr24") for f in decoded], [float(f.time) for f in decoded]


def test_interlaced_video_is_read_deinterlaced_every_frame_at_its_time(tmp_path):
    clip = interlaced_clip(tmp_path / "camcorder.mp4")
    with av.open(str(clip)) as c:
        assert all(f.interlaced_frame for f in c.decode(video=0))  # as a camcorder's file says
    woven, times = frames_of(clip)
    assert min(combing(w) for w in woven) > 10  # the comb the source holds
    reader = VideoFileSource(clip)
    try:
        read = list(reader)
    finally:
        reader.close()
    assert [f.pts for f in read] == [round(t * 12800) for t in times]  # every frame, at its time (x264's 1/12800)
    assert max(combing(f.image) for f in read) < 3  # was 29, the woven frames'


def test_an_interlaced_clip_run_is_written_without_combs(capsys, tmp_path):
    clip = interlaced_clip(tmp_path / "camcorder.mp4")
    out = tmp_path / "out.mp4"
    assert cli(capsys, "run", clip, out, *WHOLE_GREY, *RUN_FAST).status == 0
    images, times = frames_of(out)
    _, source_times = frames_of(clip)
    assert times == pytest.approx(source_times, abs=1e-3)
    assert max(combing(i) for i in images) < 3


def cut_without_reencoding(path: Path, frames: int = 30, cut: int = 10) -> Path:
    """A clip of ``frames`` frames (25 fps) cut ``cut`` frames in as ``ffmpeg -ss 0.4 -i in.mp4 -c copy``
    cuts it: every packet kept, those before the cut before 0, so that the MP4's edit list starts at
    the cut and they are decoded, never shown."""
    clip = make_clip(path.with_name("whole.mp4"), frames=frames, fps=FPS)
    with av.open(str(clip)) as src, av.open(str(path), "w") as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        shift = round(Fraction(cut, FPS) / stream.time_base)
        for packet in src.demux(stream):
            if packet.size:
                packet.pts, packet.dts, packet.stream = packet.pts - shift, packet.dts - shift, out
                dst.mux(packet)
    return path


def test_an_mp4_cut_without_reencoding_counts_the_frames_it_shows(tmp_path):
    cut = cut_without_reencoding(tmp_path / "cut.mp4")
    with av.open(str(cut)) as c:
        assert c.streams.video[0].frames == 30  # its header counts every frame it holds
    source = open_source(str(cut))
    try:
        assert source.frame_count == 20  # the progress bar's total: was 30
        assert sum(1 for _ in source) == 20
    finally:
        source.close()
    assert probe_video(cut) == 20  # a batch's first estimate
