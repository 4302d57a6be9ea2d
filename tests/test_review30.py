"""Review 30: defects found reviewing hunt 30's changes (HDR decoding, bars, resumed batches)."""

from __future__ import annotations

import errno

import av
import numpy as np
import pytest

from deepphoto.batch import kept
from deepphoto.picture_box import picture_box
from deepphoto.stream.video_colour import Colour, sdr_bgr

try:  # the resume tests' helpers and fixtures (a 40-frame clip cut into 4 chunks, an
    # uninterrupted batch's output); without Ray those tests skip and the others still run
    import test_hunt30_resume as resume
    from test_hunt30_resume import CHUNKS, assert_clean, assert_same_as, batch, stopped

    clip, reference = resume.clip, resume.reference
except pytest.skip.Exception:
    resume = None
needs_ray = pytest.mark.skipif(resume is None, reason="deepphoto batch needs the 'cluster' extra (Ray)")


@needs_ray
def test_chunks_made_by_other_deepphoto_code_are_not_joined_with_new_ones(
    clip, local_ray, tmp_path, capsys, monkeypatch
):
    """A batch stopped, DeepPhoto updated (a git pull: its version number, 0.1.0, is not raised for
    each change), the same command again: the chunks the old code made were joined with chunks
    the new code made, so a video could change look midway (today's HDR tone mapping: its first
    half grey and flat, the rest not). Chunks made by other code are rendered again."""
    out = tmp_path / "out"
    stopped(clip, out)
    capsys.readouterr()
    monkeypatch.setattr(kept, "code_digest", lambda: "0" * 64, raising=False)  # the code as updated
    report, rendered = batch(clip, out)
    assert report.count("done") == 1 and sorted(rendered) == list(range(CHUNKS)), report.table()
    err = capsys.readouterr().err
    assert "2 kept chunks discarded (they were made by another version of DeepPhoto or of FFmpeg)" in err, err
    assert_clean(out)


KR, KB = 0.2627, 0.0593  # BT.2020's luma weights
BT2020_TO_BT709 = np.array(
    [[1.660491, -0.587641, -0.07285], [-0.12455, 1.1329, -0.008349], [-0.018151, -0.100579, 1.11873]]
)


def hdr_frame(rgb: np.ndarray, trc: int, full: bool) -> tuple[av.VideoFrame, np.ndarray]:
    """A 10-bit BT.2020 frame of one colour (R'G'B' 0-1), as phones code it, and its Y'CbCr codes."""
    y = KR * rgb[0] + (1 - KR - KB) * rgb[1] + KB * rgb[2]
    cb, cr = (rgb[2] - y) / (2 * (1 - KB)), (rgb[0] - y) / (2 * (1 - KR))
    scale, offset = (1023, 0) if full else (876, 64)
    codes = np.round([offset + scale * y, 512 + (1023 if full else 896) * cb, 512 + (1023 if full else 896) * cr])
    frame = av.VideoFrame(16, 16, "yuv420p10le")
    for plane, code in zip(frame.planes, codes):
        np.frombuffer(plane, np.uint16)[:] = int(code)
    frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = 9, 9, trc, 2 if full else 1
    return frame, codes


def expected_bgr(codes: np.ndarray, trc: int, full: bool) -> np.ndarray:
    """The SDR colour sdr_bgr means to make of ``codes``, in float64 (its formulas, as documented)."""
    y, cb, cr = (codes - [0, 512, 512]) / [1023, 1023, 1023] if full else (codes - [64, 512, 512]) / [876, 896, 896]
    r, b = y + 2 * (1 - KR) * cr, y + 2 * (1 - KB) * cb
    return expected_from_signal(np.clip([r, (y - KR * r - KB * b) / (1 - KR - KB), b], 0, 1), trc)


def expected_from_signal(signal: np.ndarray, trc: int) -> np.ndarray:
    """The SDR colour (BGR) of an HDR R'G'B' ``signal`` (0-1, BT.2020), in float64."""
    if trc == 16:
        p = signal ** (1 / 78.84375)
        light = 10000 / 203 * (np.maximum(p - 0.8359375, 0) / (18.8515625 - 18.6875 * p)) ** (1 / 0.1593017578125)
    else:
        a, b_, c = 0.17883277, 0.28466892, 0.55991073
        scene = np.where(signal <= 0.5, signal**2 / 3, (np.exp((signal - c) / a) + b_) / 12)
        light = scene * (scene @ [KR, 1 - KR - KB, KB]) ** 0.2 * 1000 / 203
    light = np.maximum(BT2020_TO_BT709 @ light, 0)
    peak = light.max()
    if peak > 0.8:
        over = (peak - 0.8) / 0.2
        light *= (0.8 + 0.2 * over / (1 + over)) / peak
    return np.round(255 * np.minimum(light, 1) ** (1 / 2.4))[::-1]


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("trc", [16, 18])
def test_hdr_colours_are_decoded_to_the_level(trc, full):
    """swscale turns a limited-range white into 65283 of 65535 (full range: 1023 << 6), and sdr_bgr
    read it as 65535: an HDR phone clip's signal 0.4% low, its greys 1-2 levels dark and the weakest
    channel of a saturated colour up to 9 levels off (HLG green (0, 233, 12) came out (0, 232, 23)).
    Greys and colours as their formulas say, to a level."""
    rs = np.random.default_rng(30)
    worst = 0.0
    for k in range(120):
        rgb = np.full(3, rs.random()) if k < 20 else rs.random(3)
        rgb *= 0.75 if trc == 16 else 1.0  # PQ: up to 1000 cd/m2, as phones record
        frame, codes = hdr_frame(rgb, trc, full)
        got = sdr_bgr(frame, Colour(9, 9, trc))[8, 8].astype(float)
        worst = max(worst, float(np.abs(got - expected_bgr(codes, trc, full)).max()))
    assert worst <= 1, worst


@needs_ray
def test_a_video_that_cannot_be_joined_for_a_full_disk_keeps_its_chunks(clip, reference, tmp_path, monkeypatch):
    """Every chunk of a long video rendered, then the join failed for a full disk (the output needs
    as much room again as its chunks): the chunks were deleted with the failure, so once the user
    had made room the same command rendered the whole video again (hours, for a film). They are
    kept, the reason says so, and the same command again joins them without rendering anything."""
    from deepphoto.batch import runner as runner_module

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "out"
    with monkeypatch.context() as m:
        m.setattr(runner_module, "finish_video", full_disk)
        report, rendered = batch(clip, out)
    assert report.count("failed") == 1 and len(rendered) == CHUNKS, report.table()
    assert report.outcomes[0].reason.endswith(
        "the disk is full (No space left on device); 4 of 4 chunks kept: the same command again, with room made,"
        " resumes it"
    ), report.outcomes[0].reason
    report, rendered = batch(clip, out)
    assert report.count("done") == 1 and rendered == [], report.table()
    assert_same_as(out / "talk.mp4", reference)
    assert_clean(out)


def test_a_page_with_a_header_and_a_footer_is_not_a_picture_inside_white_bars():
    """A document, form or slide on white (a screen recording, a scanned page) with a full-width rule
    or a coloured band as deep at the top as at the bottom: taken for a picture inside white bars, its
    margins were left unpainted round a painted middle. A picture mostly of the bars' colour is a page."""
    from test_hunt30_bars import coded

    rs = np.random.default_rng(30)
    h, w = 240, 320
    page = np.full((h, w, 3), 255, np.uint8)
    for y in range(40, h - 40, 12):  # lines of text
        for x in range(30, w - 30, 6):
            if rs.random() < 0.7:
                page[y : y + 5, x : x + 4] = 20
    ruled, banded = page.copy(), page.copy()
    ruled[20:22], ruled[h - 22 : h - 20] = 0, 0  # a header's and a footer's rule
    banded[16:34], banded[h - 34 : h - 16] = (200, 120, 40), (200, 120, 40)  # a slide's bands
    for name, frame in {"ruled page": ruled, "slide": banded}.items():
        for seen in (frame, coded([frame], crf=23)[0]):
            assert picture_box(seen) is None, name


def test_an_rgb_coded_hdr_frame_is_decoded_to_the_level():
    """An HDR video stored as 10-bit RGB (FFV1 or a lossless export: gbrp10le) is read against its own
    codes, not swscale's conversion of them to 16 bits (100 of 1023 became 6384 of 65535, not 6400,
    and 0 beside a full red 6): colours up to 2 levels off."""
    rs = np.random.default_rng(31)
    worst = 0.0
    for _ in range(40):
        codes = rs.integers(0, 768, 3)  # up to 1000 cd/m2, as phones record
        frame = av.VideoFrame(8, 8, "gbrp10le")
        for plane, code in zip(frame.planes, (codes[1], codes[2], codes[0])):  # G, B, R planes
            np.frombuffer(plane, np.uint16)[:] = int(code)
        frame.colorspace, frame.color_primaries, frame.color_trc = 0, 9, 16
        got = sdr_bgr(frame, Colour(0, 9, 16))[4, 4].astype(float)
        worst = max(worst, float(np.abs(got - expected_from_signal(codes / 1023, 16)).max()))
    assert worst <= 1, worst


def test_a_transparent_hdr_pixel_is_on_white_as_an_sdr_one_is():
    """An HDR video with an alpha channel (ProRes 4444 from an editor, HLG or PQ) had its transparent
    pixels black (the colour stored under them), where an SDR one's are white, as a photo's are."""
    frame = av.VideoFrame(32, 16, "yuva444p10le")
    for plane, value in zip(frame.planes, (64, 512, 512, 0)):  # black, wholly transparent
        np.frombuffer(plane, np.uint16)[:] = value
    np.frombuffer(frame.planes[3], np.uint16).reshape(16, -1)[:, :16] = 1023  # the left half opaque
    frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = 9, 9, 18, 1
    bgr = sdr_bgr(frame, Colour(9, 9, 18))
    assert bgr[:, :16].max() == 0 and bgr[:, 16:].min() == 255
