"""High-dynamic-range and wide-gamut pictures (BT.2020; PQ or HLG: a phone's HDR video, an HDR AVIF
photo) as an SDR screen should show them: the picture at its own depth in linear light, BT.2020's
primaries turned into BT.709's (sRGB's), highlights compressed under white, encoded as 8-bit SDR.
Below the video files and the photo readers alike (``stream.video_colour``, ``frames``), which
both hand it decoded frames."""

from __future__ import annotations

import functools
import math

import av
import cv2
import numpy as np
from av.video.reformatter import Colorspace, Interpolation

PQ, HLG = 16, 18  # FFmpeg's numbers for the HDR transfers (AVColorTransferCharacteristic)
LINEAR, SRGB = 8, 13  # and for linear light and sRGB's curve (IEC 61966-2-1)
BT709, UNSPECIFIED, BT2020 = 1, 2, 9  # and for matrices and primaries (AVColorSpace, AVColorPrimaries)
P3 = 12  # Display P3's primaries (SMPTE EG 432-1: DCI-P3's, D65 white)


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


P3_TO_BT709 = np.array(  # linear RGB, Display P3 primaries -> BT.709 (from their chromaticities, D65)
    [[1.224940, -0.224940, 0.0], [-0.042057, 1.042057, 0.0], [-0.019638, -0.078636, 1.098274]], np.float32
)


BT2020_LUMA = np.array([[0.2627, 0.6780, 0.0593]], np.float32)


def sdr_picture(frame: av.VideoFrame, trc: int, primaries: int, srgb: bool = False) -> np.ndarray:
    """The colours of ``frame`` (transfer ``trc``, FFmpeg's number; in ``primaries``: BT2020's, P3's
    or BT709's, FFmpeg's numbers) as SDR BT.709 BGR uint8, its alpha
    dropped (see ``video_colour.sdr_bgr``): encoded for BT.1886's 2.4 as a video is, or with
    ``srgb`` sRGB's curve, as a photo is (a photo's shadows encoded for 2.4 were shown lifted, up to
    12 levels, by sRGB viewers)."""
    return sdr_from_codes(*frame_codes(frame), trc, primaries, srgb)


def frame_codes(frame: av.VideoFrame) -> tuple[np.ndarray, int]:
    """``frame``'s R'G'B' codes at its depth (HxWx3 uint16, or as stored where it is R'G'B') and the
    code of its white, as ``sdr_from_codes`` takes them."""
    untagged = frame.colorspace in (UNSPECIFIED, 3)  # HDR's matrix and primaries are BT.2020's, said or not
    matrix = Colorspace.BT2020 if untagged else None
    bits = frame.format.components[0].bits
    if frame.format.name.startswith(("gbrp", "gbrap")):  # stored as R'G'B' (FFV1, HEVC 4:4:4 GBR): its codes
        return np.ascontiguousarray(frame.to_ndarray()[..., :3]), (1 << bits) - 1  # (swscale: +-16 of 1023)
    rgb = frame.to_ndarray(format="gbrp16le", src_colorspace=matrix, interpolation=EXACT)  # rgb48 is wrong
    return rgb, _white_code(bits, frame.color_range == 2)  # 2: full range (JPEG)


def sdr_from_codes(rgb: np.ndarray, white: int, trc: int, primaries: int, srgb: bool = False) -> np.ndarray:
    """``sdr_picture`` of R'G'B' codes (HxWx3 uint8 or uint16, ``white`` the code of white). A
    Display P3 picture's colours taken as BT.2020's came out over-saturated (a red 200/30/30 as
    227/0/32): ``primaries`` says which a picture's are. A band of rows at a time: a
    48-megapixel photo's float copies whole (576 MB each) took 2.7 GB and 9 s to read."""
    rows = max(1, BAND_PIXELS // max(1, rgb.shape[1]))
    if rgb.shape[0] <= rows:
        return _sdr_band(rgb, white, trc, primaries, srgb)
    out = np.empty(rgb.shape, np.uint8)
    for top in range(0, rgb.shape[0], rows):
        out[top : top + rows] = _sdr_band(rgb[top : top + rows], white, trc, primaries, srgb)
    return out


BAND_PIXELS = 1 << 20  # the pixels ``sdr_from_codes`` takes at a time (12 MB of float light)


def _sdr_band(rgb: np.ndarray, white: int, trc: int, primaries: int, srgb: bool) -> np.ndarray:
    """``sdr_from_codes`` of a band of rows."""
    hdr = trc in (PQ, HLG)
    light = _linear_light(trc, white)[rgb]  # relative to SDR's white (PQ, SDR) or scene light (HLG)
    if trc == HLG:  # HLG's OOTF: display light = peak * Y ** 0.2 * scene light
        luma = cv2.pow(cv2.transform(light, BT2020_LUMA), 0.2) * (HLG_PEAK_NITS / SDR_WHITE_NITS)
        light *= cv2.merge([luma] * 3)
    if primaries != BT709:  # BT.2020's or Display P3's
        light = cv2.transform(light, (P3_TO_BT709 if primaries == P3 else BT2020_TO_BT709)[::-1])  # and into BGR
    else:
        light = np.ascontiguousarray(light[..., ::-1])
    np.maximum(light, 0, out=light)  # colours beyond BT.709's gamut: clipped
    if hdr:
        gain, top = _highlight_gain()
        peak = np.maximum(np.maximum(light[..., 0], light[..., 1]), light[..., 2])
        light *= cv2.merge([gain[_root_index(peak, top)]] * 3)
    return _sdr_signal(srgb)[_root_index(light, 1.0)]  # (light over 1: white)


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
    white, HLG's scene light (0-1), linear light as it is, sRGB's curve undone, SDR (BT.709,
    BT.2020's 10 and 12 bit) through BT.1886's 2.4. A linear-light BT.2020 photo (a raw
    converter's 'linear Rec2020' AVIF) taken through 2.4 came out dark: mid-grey 45 for 129."""
    v = np.minimum(np.arange(65536, dtype=np.float64) / white, 1.0)
    if trc == PQ:  # SMPTE ST 2084
        m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
        p = v ** (1 / m2)
        light = PQ_PEAK_NITS / SDR_WHITE_NITS * (np.maximum(p - c1, 0) / (c2 - c3 * p)) ** (1 / m1)
    elif trc == HLG:  # ARIB STD-B67's inverse OETF
        a, b, c = 0.17883277, 0.28466892, 0.55991073
        light = np.where(v <= 0.5, v * v / 3, (np.exp((v - c) / a) + b) / 12)
    elif trc == LINEAR:
        light = v
    elif trc == SRGB:
        light = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
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


@functools.lru_cache(maxsize=2)
def _sdr_signal(srgb: bool = False) -> np.ndarray:
    """Linear light 0-1 (indexed by _root_index) -> the 8-bit SDR signal, BT.1886 encoded (``srgb``:
    by sRGB's curve)."""
    light = (np.arange(LUT_STEPS + 1) / LUT_STEPS) ** 2
    if srgb:
        signal = np.where(light <= 0.0031308, 12.92 * light, 1.055 * light ** (1 / 2.4) - 0.055)
    else:
        signal = light ** (1 / SDR_GAMMA)
    return np.round(255 * signal).astype(np.uint8)
