"""HDR and 10-bit video through ``run`` and ``batch``, found by hunt 34: a phone's HLG or PQ HEVC,
a camera's 10-bit SDR H.264 or HEVC, BT.2020 SDR. Each output is 8-bit SDR (tone-mapped, tagged as
such): what it loses of its source is said in one line, whatever it is written as."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli
from media import encode_into

GREY = ["--effect", "grey", "--region", "person"]  # nobody in these pictures: left as they are


def clip(path: Path, tags: tuple[int, int, int], pix_fmt: str = "yuv420p10le", frames: int = 3) -> Path:
    """A grey ramp, H.264 in ``pix_fmt``, tagged (matrix, primaries, transfer): (1, 1, 1) BT.709 SDR,
    (9, 9, 18) HLG, (9, 9, 16) PQ, (9, 9, 14) BT.2020 SDR."""
    w, h = 64, 32
    ramp = np.repeat(np.linspace(0, 65535 * 0.7, w)[None, :, None], h, 0).repeat(3, 2).astype(np.uint16)
    matrix = "ITU709" if tags[0] == 1 else "BT2020"
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=30, options={"crf": "10"})
        v.width, v.height, v.pix_fmt = w, h, pix_fmt
        cc = v.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = *tags, 1
        made = []
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(ramp, format="rgb48le").reformat(
                format=pix_fmt, dst_colorspace=matrix, dst_color_range="MPEG"
            )
            frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = *tags, 1
            frame.pts, frame.time_base = i, Fraction(1, 30)
            made.append(frame)
        encode_into(out, v, made)
    return path


@pytest.mark.parametrize(
    "tags, pix_fmt, said",
    [
        ((1, 1, 1), "yuv420p10le", "the source is 10-bit; it is painted and written with 8 bits a channel"),
        ((1, 1, 1), "yuv422p10le", "the source is 10-bit; it is painted and written with 8 bits a channel"),
        ((9, 9, 18), "yuv420p10le", "the source is 10-bit HDR (BT.2020 HLG); it is written as 8-bit SDR BT.601"),
        ((9, 9, 14), "yuv420p10le", "the source is 10-bit wide-gamut BT.2020; it is written as 8-bit SDR BT.601"),
        ((1, 1, 1), "yuv420p", None),
    ],
)
def test_a_10_bit_source_written_with_8_bits_is_said_once(capsys, tmp_path, tags, pix_fmt, said):
    """A camera's 10-bit H.264 or HEVC (and a phone's 10-bit HDR) came out of 'run' as 8-bit H.264
    with nothing said of the two bits a channel left out (HDR said only 'written as SDR'): one line
    now says so. An 8-bit source says nothing."""
    src = clip(tmp_path / "in.mp4", tags, pix_fmt)
    out = tmp_path / "out.mp4"
    result = cli(capsys, "run", src, out, *RUN_FAST, *GREY)
    assert result.status == 0 and not result.errors, result.err
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"  # what it says: 8 bits
    bits = [w for w in result.warnings if "bit" in w]
    if said is None:
        assert bits == [], result.err
    else:
        assert len(bits) == 1 and said in bits[0], result.err


@pytest.mark.parametrize("output", ["frames/", "still.png"])
@pytest.mark.parametrize(
    "tags, pix_fmt, said",
    [
        ((9, 9, 16), "yuv420p10le", "the source is 10-bit HDR (BT.2020 PQ); {} written as 8-bit SDR, tone-mapped"),
        ((1, 1, 1), "yuv420p10le", "the source is 10-bit; {} painted and written with 8 bits a channel"),
        ((1, 1, 1), "yuv420p", None),
    ],
)
def test_hdr_video_written_as_pictures_says_what_it_lost(capsys, tmp_path, output, tags, pix_fmt, said):
    """'run hdr.mp4 frames/' (one PNG a frame) and 'run hdr.mp4 still.png' tone-mapped a phone's HDR
    video to 8-bit SDR PNGs without a word, where 'run hdr.mp4 out.mp4' said it: the pictures now
    say it in the same one line (a 10-bit source's 8 bits too)."""
    src = clip(tmp_path / "in.mp4", tags, pix_fmt)
    out = tmp_path / output
    result = cli(capsys, "run", src, out, *RUN_FAST, *GREY)
    assert result.status == 0 and not result.errors, result.err
    assert out.is_dir() if output.endswith("/") else out.is_file()
    lost = [w for w in result.warnings if "the source is" in w]
    if said is None:
        assert lost == [], result.err
    else:
        assert len(lost) == 1 and said.format("its frames are" if output.endswith("/") else "it is") in lost[0], (
            result.err
        )


@pytest.mark.parametrize("primaries", [12, 11])  # Display P3 (P3-D65), DCI-P3
@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_an_sdr_video_keeps_its_primaries(capsys, tmp_path, primaries, suffix):
    """An SDR video in Display P3 (an iPhone app's wide-colour capture: BT.709's matrix and transfer,
    P3-D65 primaries) came out of 'run' tagged BT.709's primaries with its pixels as they were: a
    colour-managed player (QuickTime, Safari, Photos) showed its reds and greens duller than the
    source's. The output is tagged with the primaries its pixels are in, as the source was."""
    src = clip(tmp_path / "in.mp4", (1, primaries, 1), "yuv420p")
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", src, out, *RUN_FAST, *GREY)
    assert result.status == 0 and not result.errors, result.err
    with av.open(str(src)) as c:
        before = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    with av.open(str(out)) as c:
        frame = next(c.decode(video=0))
        assert (frame.color_primaries, frame.color_trc) == (primaries, 1)
        after = frame.to_ndarray(format="rgb24").astype(int)
    assert np.abs(after - before).mean() < 2  # the pixels are the source's: only the tag was wrong
