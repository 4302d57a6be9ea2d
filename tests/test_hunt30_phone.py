"""Videos as phones and editing apps make them, found by hunt 30 (``run`` and ``batch`` on HDR,
rotated, full-range, 10-bit and odd-sized files)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli
from media import encode_into

PERSON_GREY = ["--effect", "grey", "--region", "person"]  # nobody in these pictures: left as they are

BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])


def pq_signal(light: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 of linear light in units of HDR's reference white (203 cd/m2)."""
    m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
    p = np.power(np.clip(light * 203 / 10000, 0, 1), m1)
    return np.power((c1 + c2 * p) / (1 + c3 * p), m2)


def hdr_clip(path: Path, signal: np.ndarray, trc: int, tagged: int = 9) -> Path:
    """Three frames of ``signal`` (R'G'B' 0-1, BT.2020), 10-bit H.264 tagged ``trc`` (16: PQ, 18:
    HLG) and BT.2020 (``tagged``: 9; 2 leaves matrix and primaries unsaid), as phones record HDR
    (HEVC there, the same colour)."""
    h, w = signal.shape[:2]
    rgb48 = np.round(np.clip(signal, 0, 1) * 65535).astype(np.uint16)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=30, options={"crf": "4"})
        v.width, v.height, v.pix_fmt = w, h, "yuv420p10le"
        cc = v.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = tagged, tagged, trc, 1
        frames = []
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(rgb48, format="rgb48le").reformat(
                format="yuv420p10le", dst_colorspace="BT2020", dst_color_range="MPEG"
            )
            frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = tagged, tagged, trc, 1
            frame.pts, frame.time_base = i, Fraction(1, 30)
            frames.append(frame)
        encode_into(out, v, frames)
    return path


def first_rgb(path: Path) -> tuple[np.ndarray, av.VideoFrame]:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return frame.to_ndarray(format="rgb24").astype(int), frame


@pytest.mark.parametrize("tagged", [9, 2])
def test_hdr_video_is_tone_mapped_not_shown_grey(capsys, tmp_path, tagged):
    """A phone's HDR video (PQ, BT.2020: an Android phone's HDR10; iPhones record HLG by default)
    came out grey and flat, in the painting and around the person alike: its values were taken as
    SDR's, so HDR's reference white was 58% grey and a red was dull. Black, white and red in: black,
    white and red out, tagged as the SDR video it is; also where the file says only that it is PQ
    (HDR's matrix and primaries are BT.2020's)."""
    w, h = 96, 32
    light = np.zeros((h, w, 3))  # linear BT.709: black | reference white | red
    light[:, w // 3 : 2 * w // 3] = 1.0
    light[:, 2 * w // 3 :] = (0.8, 0, 0)
    clip = hdr_clip(tmp_path / "hdr10.mp4", pq_signal(light @ BT709_TO_BT2020.T), trc=16, tagged=tagged)
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", clip, out, *RUN_FAST, *PERSON_GREY)
    assert result.status == 0 and not result.errors, result.err
    assert len([x for x in result.warnings if "HDR (BT.2020 PQ)" in x and "tone-mapped" in x]) == 1, result.err
    rgb, frame = first_rgb(out)
    assert (frame.colorspace, frame.color_primaries, frame.color_trc) == (6, 1, 6)  # SDR BT.601 (small), BT.709's gamut
    black, white, red = (rgb[h // 2, x] for x in (w // 6, w // 2, 5 * w // 6))
    assert black.max() < 8, black
    assert white.min() > 232, white  # was 149: grey
    assert red[0] > 215 and red[1:].max() < 30, red  # was (130, 77, 52): brown


def test_hlg_video_keeps_its_white_white(capsys, tmp_path):
    """iPhone HDR (HLG): its reference white (75% signal) came out 75% grey, and its colours dull."""
    w, h = 64, 32
    signal = np.zeros((h, w, 3))
    signal[:, w // 2 :] = 0.75
    clip = hdr_clip(tmp_path / "hlg.mp4", signal, trc=18)
    out = tmp_path / "out.mov"
    result = cli(capsys, "run", clip, out, *RUN_FAST, *PERSON_GREY)
    assert result.status == 0 and not result.errors, result.err
    rgb, _ = first_rgb(out)
    black, white = rgb[h // 2, w // 4], rgb[h // 2, 3 * w // 4]
    assert black.max() < 8 and white.min() > 232, (black, white)  # white was 190


@pytest.mark.parametrize("peak", [4.0, 40.0])
def test_hdr_highlights_keep_their_order_under_white(capsys, tmp_path, peak):
    """Highlights brighter than HDR's white are compressed, not clipped: brighter stays brighter."""
    w, h = 96, 32
    light = np.zeros((h, w, 3))
    light[:, : w // 3] = 0.5
    light[:, w // 3 : 2 * w // 3] = 1.0
    light[:, 2 * w // 3 :] = peak
    clip = hdr_clip(tmp_path / "hdr10.mp4", pq_signal(light), trc=16)
    out = tmp_path / "out.mp4"
    assert cli(capsys, "run", clip, out, *RUN_FAST, *PERSON_GREY).status == 0
    rgb, _ = first_rgb(out)
    half, white, bright = (rgb[h // 2, x].mean() for x in (w // 6, w // 2, 5 * w // 6))
    assert 150 < half < white < bright <= 255, (half, white, bright)
