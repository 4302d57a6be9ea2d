"""The colours of video frames: how a decoded frame is read (the matrix it is tagged with; untagged:
BT.709 from 720 lines up, else BT.601, as players assume) and how an output is tagged (BT.601 or
BT.709, the source's own description when it is one of these, else that convention). HDR (BT.2020
PQ or HLG: phones record it by default) is tone-mapped to SDR BT.709 as it is decoded, and wide-gamut
BT.2020 is gamut-mapped, so the networks and the output see the picture as an SDR screen should
show it (see ``sdr_bgr``)."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from deepphoto.frames import on_white
from deepphoto.hdr import EXACT, HLG, PQ, sdr_picture

# FFmpeg's numbers for colour (AVColorSpace, AVColorPrimaries, AVColorTransferCharacteristic)
BT709, UNSPECIFIED, BT470BG, SMPTE170M, BT2020 = 1, 2, 5, 6, 9  # the same for matrix and primaries


RGB = 0  # matrix: none, the colours stored as such (GIF, PNG, FFV1 / x264rgb RGB)


BT2020_CL = 10  # matrix


SDR_TRANSFERS = (1, 4, 5, 6, 13, 14, 15)  # bt709, gamma 2.2 / 2.8, smpte170m, sRGB, bt2020 10 / 12 bit


# primaries an SDR video's pixels are kept in, and tagged with: BT.709, BT.470M, BT.470BG (PAL),
# SMPTE 170M (NTSC), SMPTE 240M, film (C), DCI-P3, Display P3 (P3-D65), EBU 3213
KEPT_PRIMARIES = (BT709, 4, BT470BG, SMPTE170M, 7, 8, 11, 12, 22)


HD_LINES = 720  # untagged video of this many lines or more is BT.709, else BT.601


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
    under white (see ``hdr.SDR_WHITE_NITS``); BT.1886 encoded; a transparent pixel on white (as in
    ``opaque_bgr``). About 0.1 s more a 1920x1080 frame, 0.3-0.4 s
    a 3840x2160 one (a 4K phone clip: minutes a minute of it)."""
    hdr = colour.trc in (PQ, HLG)
    wide = colour.primaries == BT2020 or colour.space in (BT2020, BT2020_CL) or (hdr and colour.primaries != BT709)
    bgr = sdr_picture(frame, colour.trc, BT2020 if wide else BT709)
    if not any(c.is_alpha for c in frame.format.components):
        return bgr
    alpha = np.ascontiguousarray(frame.to_ndarray(format="bgra", interpolation=EXACT)[..., 3])
    return bgr if alpha.min() == 255 else on_white(bgr, alpha)  # as opaque_bgr's (ProRes 4444 HDR)
