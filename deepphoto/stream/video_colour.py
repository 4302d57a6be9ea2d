"""The colours of video frames: how a decoded frame is read (the matrix it is tagged with; untagged:
BT.709 from 720 lines up, else BT.601, as players assume) and how an output is tagged (BT.601 or
BT.709, the source's own description when it is one of these, else that convention). HDR (BT.2020
PQ or HLG: phones record it by default) is tone-mapped to SDR BT.709 as it is decoded, and wide-gamut
BT.2020 is gamut-mapped, so the networks and the output see the picture as an SDR screen should
show it (see ``sdr_bgr``)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import av
import cv2
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from deepphoto.frames import on_white

# FFmpeg's numbers for colour (AVColorSpace, AVColorPrimaries, AVColorTransferCharacteristic)
BT709, UNSPECIFIED, BT470BG, SMPTE170M, BT2020 = 1, 2, 5, 6, 9  # the same for matrix and primaries


RGB = 0  # matrix: none, the colours stored as such (GIF, PNG, FFV1 / x264rgb RGB)


BT2020_CL = 10  # matrix


PQ, HLG = 16, 18  # transfer


SDR_TRANSFERS = (1, 4, 5, 6, 13, 14, 15)  # bt709, gamma 2.2 / 2.8, smpte170m, sRGB, bt2020 10 / 12 bit


# primaries an SDR video's pixels are kept in, and tagged with: BT.709, BT.470M, BT.470BG (PAL),
# SMPTE 170M (NTSC), SMPTE 240M, film (C), DCI-P3, Display P3 (P3-D65), EBU 3213
KEPT_PRIMARIES = (BT709, 4, BT470BG, SMPTE170M, 7, 8, 11, 12, 22)


HD_LINES = 720  # untagged video of this many lines or more is BT.709, else BT.601


# HDR to SDR (BT.2408): HDR's reference white (203 cd/m2) is SDR's white; HLG is seen as on a display
# of 1000 cd/m2 (its system gamma 1.2); brighter than KNEE of white, the highlights are compressed
# (each pixel's largest channel, its hue kept) to fit under white; SDR is encoded for BT.1886's 2.4.
SDR_WHITE_NITS, HLG_PEAK_NITS, PQ_PEAK_NITS = 203.0, 1000.0, 10000.0


KNEE, SDR_GAMMA = 0.8, 2.4


LUT_STEPS = 65535  # the tables' steps, taken on the square root of linear light (fine in the shadows)


BT2020_TO_BT709 = np.array(  # linear RGB, BT.2020 primaries -> BT.709 (ITU-R BT.2087)
    [[1.660491, -0.587641, -0.072850], [-0.124550, 1.132900, -0.008349], [-0.018151, -0.100579, 1.118730]],
    np.float32,
)


BT2020_LUMA = np.array([[0.2627, 0.6780, 0.0593]], np.float32)


# swscale's colour conversions, rounded (ACCURATE_RND) with the chroma taken at full resolution
# (FULL_CHR_H_INT): its default truncates, so every video written came out about 2 grey levels
# darker (-2.6 / -1.6 / -2.4 in blue, green, red over an encode and a decode; found by a picture
# review) and unpainted pixels no longer matched the input. Measured on a 640x480 and a 1920x1080
# picture: mean signed error 0.02 levels, mean absolute 0.58 (2.25 before); cost per frame 0.6 ms
# (640x480) and 6 ms (1920x1080) for both conversions together.
# swscale's flag values (SWS_BILINEAR, SWS_ACCURATE_RND, SWS_FULL_CHR_H_INT) as one int: PyAV 18 names
# them in Interpolation, PyAV 17 (the last for Python 3.10: JetPack 6, Ubuntu 22.04) names only the
# first but passes the int to swscale as it is; both convert identically.
EXACT = int(Interpolation.BILINEAR) | 0x40000 | 0x2000


@dataclass(frozen=True)
class Colour:
    """How a video's YUV values are meant: FFmpeg's numbers for its matrix, primaries and transfer."""

    space: int = UNSPECIFIED
    primaries: int = UNSPECIFIED
    trc: int = UNSPECIFIED
    bits: int = 8  # a channel, as stored (10: a phone's HDR video, ProRes, a camera's 10-bit H.264 or HEVC)

    @property
    def beyond_sdr(self) -> str:
        """'' for SDR video of BT.709's gamut or less, else what it is in words ('HDR (BT.2020 HLG)')."""
        if self.trc in (PQ, HLG):
            return f"HDR (BT.2020 {'PQ' if self.trc == PQ else 'HLG'})"
        return "wide-gamut BT.2020" if self.space in (BT2020, BT2020_CL) or self.primaries == BT2020 else ""

    @property
    def matrix(self) -> Colorspace:
        """swscale's matrix for it (BT.601 unless BT.709)."""
        return Colorspace.ITU709 if self.space == BT709 else Colorspace.ITU601


def decoding_matrix(frame: av.VideoFrame) -> Colorspace | None:
    """The matrix to turn ``frame`` into RGB with where it does not say (None: its own)."""
    if frame.colorspace in (UNSPECIFIED, 3) and frame.height >= HD_LINES:  # 3: reserved
        return Colorspace.ITU709
    return None


def source_colour(frame: av.VideoFrame) -> Colour:
    """The colour description of a decoded frame; an untagged matrix as it was decoded; RGB for a
    frame stored as RGB or a palette, whatever its tag says."""
    space = frame.colorspace
    if frame.format.is_rgb or frame.format.name == "pal8":
        space = RGB
    elif space in (UNSPECIFIED, 3):
        space = BT709 if frame.height >= HD_LINES else SMPTE170M
    return Colour(space, frame.color_primaries, frame.color_trc, max(c.bits for c in frame.format.components))


def output_colour(source: Colour | None, height: int) -> Colour:
    """How the output is written: the source's description when it is BT.601 or BT.709 (SDR), else
    BT.709 for video of 720 lines or more, BT.601 below (what players assume of untagged video).
    An SDR source's primaries and transfer are kept whatever its matrix: an RGB one (FFV1, x264rgb,
    a screen recording) tagged BT.709 was written with BT.601's (SMPTE C) primaries, which a
    colour-managed player (QuickTime, Safari) converts: pure red shown as (248, 48, 0); a Display
    P3 one (an iPhone app's wide-colour capture) was written as BT.709's, its reds and greens shown
    duller there (its pixels are the source's: only the tag changed). Pictures
    (photos, a GIF, an RGB video that does not say: sRGB, whose primaries are BT.709's; ``source``
    None) and HDR or BT.2020 video (mapped into BT.709's by ``sdr_bgr``) are BT.709's primaries."""
    src = source or Colour()
    sdr = not src.beyond_sdr
    keep = src.space in (BT709, BT470BG, SMPTE170M) and sdr
    space = src.space if keep else (BT709 if height >= HD_LINES else SMPTE170M)
    if sdr and src.primaries in KEPT_PRIMARIES:
        primaries = src.primaries
    elif source is None or src.space == RGB or not sdr:
        primaries = BT709
    else:
        primaries = space
    trc = src.trc if sdr and src.trc in SDR_TRANSFERS else (BT709 if space == BT709 else SMPTE170M)
    return Colour(space, primaries, trc)


def written_note(source: Colour | None, subject: str = "it is", sdr: str = "SDR") -> str:
    """What a video of colour ``source`` loses in an 8-bit SDR output, in one line ('' where nothing):
    HDR tone-mapped, BT.2020 gamut-mapped, more than 8 bits a channel painted and written with 8 (the
    networks and the compositing work in 8 bits; 8-bit H.264 is what every player takes). ``subject``:
    'it is' (a video), 'its frames are' (PNGs); ``sdr``: what it is written as ('SDR BT.709')."""
    if source is None:
        return ""
    depth = f"{source.bits}-bit " if source.bits > 8 else ""
    if source.beyond_sdr:
        mapped = "tone-mapped (its highlights compressed)" if source.trc in (PQ, HLG) else "gamut-mapped"
        return f"the source is {depth}{source.beyond_sdr}; {subject} written as 8-bit {sdr}, {mapped}"
    return f"the source is {source.bits}-bit; {subject} painted and written with 8 bits a channel" if depth else ""


def yuv420_frame(bgr: np.ndarray, matrix: Colorspace) -> av.VideoFrame:
    """``bgr`` (uint8) as the YUV 4:2:0 frame encoders take, limited range, converted with ``matrix``
    and rounded (``EXACT``): what a video file is written with, and what the Studio's live view sends."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
    return frame.reformat(format="yuv420p", dst_colorspace=matrix, dst_color_range=ColorRange.MPEG, interpolation=EXACT)


def opaque_bgr(frame: av.VideoFrame, matrix: Colorspace | None = None) -> np.ndarray:
    """A decoded frame as BGR uint8 (``matrix``: see ``decoding_matrix``). A video with an alpha
    channel (PNG or QuickTime Animation in a MOV, ProRes 4444) has its transparent pixels on white,
    as a photo's and a GIF's are, not the colours stored under them (black, mostly)."""
    if not any(c.is_alpha for c in frame.format.components):
        return frame.to_ndarray(format="bgr24", src_colorspace=matrix, interpolation=EXACT)
    bgra = frame.to_ndarray(format="bgra", src_colorspace=matrix, interpolation=EXACT)
    colour, alpha = np.ascontiguousarray(bgra[..., :3]), np.ascontiguousarray(bgra[..., 3])
    return colour if alpha.min() == 255 else on_white(colour, alpha)


def sdr_bgr(frame: av.VideoFrame, colour: Colour) -> np.ndarray:
    """An HDR (PQ, HLG) or wide-gamut (BT.2020) frame as SDR BT.709 BGR uint8, as an SDR screen
    should show it. Taken as it is stored, an HDR picture came out grey and flat (PQ: its white at
    58%, HLG's at 75%) and BT.2020's colours dull, in the painting and the output alike. Linear
    light, relative to HDR's reference white; for HLG, as its 1000 cd/m2 display shows it; BT.2020's
    primaries turned into BT.709's (colours beyond them clipped); highlights above KNEE compressed
    under white (see SDR_WHITE_NITS); BT.1886 encoded; a transparent pixel on white (as in
    ``opaque_bgr``). About 0.1 s more a 1920x1080 frame, 0.3-0.4 s
    a 3840x2160 one (a 4K phone clip: minutes a minute of it)."""
    untagged = frame.colorspace in (UNSPECIFIED, 3)  # HDR's matrix and primaries are BT.2020's, said or not
    matrix = Colorspace.BT2020 if untagged else None
    bits = frame.format.components[0].bits
    if frame.format.name.startswith(("gbrp", "gbrap")):  # stored as R'G'B' (FFV1, HEVC 4:4:4 GBR): its codes
        rgb, white = np.ascontiguousarray(frame.to_ndarray()[..., :3]), (1 << bits) - 1  # (swscale: +-16 of 1023)
    else:
        rgb = frame.to_ndarray(format="gbrp16le", src_colorspace=matrix, interpolation=EXACT)  # rgb48 is wrong
        white = _white_code(bits, frame.color_range == 2)  # 2: full range (JPEG)
    hdr = colour.trc in (PQ, HLG)
    light = _linear_light(colour.trc, white)[rgb]  # relative to SDR's white (PQ, SDR) or scene light (HLG)
    if colour.trc == HLG:  # HLG's OOTF: display light = peak * Y ** 0.2 * scene light
        luma = cv2.pow(cv2.transform(light, BT2020_LUMA), 0.2) * (HLG_PEAK_NITS / SDR_WHITE_NITS)
        light *= cv2.merge([luma] * 3)
    if colour.primaries == BT2020 or colour.space in (BT2020, BT2020_CL) or (hdr and colour.primaries != BT709):
        light = cv2.transform(light, BT2020_TO_BT709[::-1])  # and into BGR
    else:
        light = np.ascontiguousarray(light[..., ::-1])
    np.maximum(light, 0, out=light)  # colours beyond BT.709's gamut: clipped
    if hdr:
        gain, top = _highlight_gain()
        peak = np.maximum(np.maximum(light[..., 0], light[..., 1]), light[..., 2])
        light *= cv2.merge([gain[_root_index(peak, top)]] * 3)
    bgr = _sdr_signal()[_root_index(light, 1.0)]  # (light over 1: white)
    if not any(c.is_alpha for c in frame.format.components):
        return bgr
    alpha = np.ascontiguousarray(frame.to_ndarray(format="bgra", interpolation=EXACT)[..., 3])
    return bgr if alpha.min() == 255 else on_white(bgr, alpha)  # as opaque_bgr's (ProRes 4444 HDR)


def _root_index(light: np.ndarray, top: float) -> np.ndarray:
    """Indices into a table of LUT_STEPS steps on the square root of ``light`` (0 or more): rounded,
    and the last one for ``top`` and beyond. One pass of OpenCV's (its rounding, saturated), taken
    as one channel (a number multiplies only the first of several): 3.5 times numpy's clip and cast
    of a 3840x2160 frame, 0.1 s of its 0.5 s."""
    flat = light.reshape(light.shape[0], -1)
    return cv2.multiply(cv2.sqrt(flat), LUT_STEPS / math.sqrt(top), dtype=cv2.CV_16U).reshape(light.shape)


@functools.lru_cache(maxsize=16)
def _white_code(bits: int, full: bool) -> int:
    """The code swscale turns a white of ``bits``-bit YUV into in gbrp16le: not 65535, but 65283 for
    limited range (as for 8 bits, 255.0 x 256 + 3) and 65472 for 10-bit full range (1023 << 6). Read
    as a fraction of 65535, a limited-range HDR frame's signal was 0.4% low: PQ's greys 1-2 levels
    dark and a saturated colour's weakest channel up to 9 levels off. Found once per kind of frame
    by converting a white one (65535 where that cannot be done)."""
    try:
        frame = av.VideoFrame(2, 2, "yuv444p" if bits == 8 else f"yuv444p{bits}le")
    except (ValueError, av.error.FFmpegError):
        return 65535
    depth = np.uint8 if bits == 8 else np.uint16
    for plane, value in zip(frame.planes, ((1 << bits) - 1 if full else 235 << (bits - 8), *[1 << (bits - 1)] * 2)):
        np.frombuffer(plane, depth)[:] = value
    frame.colorspace, frame.color_range = BT2020, 2 if full else 1
    white = int(frame.to_ndarray(format="gbrp16le", interpolation=EXACT).max())
    return white if white > 32767 else 65535


@functools.lru_cache(maxsize=16)
def _linear_light(trc: int, white: int = 65535) -> np.ndarray:
    """16-bit signal (``white``: see ``_white_code``) -> linear light (float32): PQ in units of SDR's
    white, HLG's scene light (0-1), SDR (BT.709, BT.2020's 10 and 12 bit) through BT.1886's 2.4."""
    v = np.minimum(np.arange(65536, dtype=np.float64) / white, 1.0)
    if trc == PQ:  # SMPTE ST 2084
        m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
        p = v ** (1 / m2)
        light = PQ_PEAK_NITS / SDR_WHITE_NITS * (np.maximum(p - c1, 0) / (c2 - c3 * p)) ** (1 / m1)
    elif trc == HLG:  # ARIB STD-B67's inverse OETF
        a, b, c = 0.17883277, 0.28466892, 0.55991073
        light = np.where(v <= 0.5, v * v / 3, (np.exp((v - c) / a) + b) / 12)
    else:
        light = v**SDR_GAMMA
    return light.astype(np.float32)


@functools.lru_cache(maxsize=1)
def _highlight_gain() -> tuple[np.ndarray, float]:
    """A pixel's gain by its largest channel (indexed by _root_index up to PQ's peak): 1 up to KNEE,
    then a curve that leaves it at KNEE with the same slope and nears white, never reaching it."""
    top = PQ_PEAK_NITS / SDR_WHITE_NITS
    m = (np.arange(LUT_STEPS + 1) / LUT_STEPS) ** 2 * top
    over = np.maximum(m - KNEE, 0) / (1 - KNEE)
    mapped = np.where(m > KNEE, KNEE + (1 - KNEE) * over / (1 + over), m)
    return (mapped / np.maximum(m, 1e-12)).astype(np.float32), top


@functools.lru_cache(maxsize=1)
def _sdr_signal() -> np.ndarray:
    """Linear light 0-1 (indexed by _root_index) -> the 8-bit SDR signal, BT.1886 encoded."""
    light = (np.arange(LUT_STEPS + 1) / LUT_STEPS) ** 2
    return np.round(255 * light ** (1 / SDR_GAMMA)).astype(np.uint8)
