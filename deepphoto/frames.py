"""Frame conversions shared by every model: any image array in, what the networks expect out."""

from __future__ import annotations

import io
import os
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepphoto.colour_profile import embedded_profile, pillow, to_srgb
from deepphoto.errors import DeepPhotoError, FrameError, FrameTypeError, not_a_file
from deepphoto.errors import warn as warn_user
from deepphoto.image_header import (
    DamagedHeader,
    image_size,
    is_avif,
    is_avif_sequence,
    is_heic,
    jpeg_unread,
    tiff_pages,
    tiff_tag,
)

# OpenCV's own warnings and errors on an odd or damaged file ("[ WARN:0@2.7] global grfmt_png.cpp:793
# readFromStreamOrBuffer PNG input buffer is incomplete", libtiff's about extra samples, six
# "[ERROR:0@0.6] ... TIFF_Error" lines of a TIFF cut off) came out on stderr before DeepPhoto's one
# line about the same file (a decoder's failure is told by what it returns, or a cv2.error); a level
# set in OPENCV_LOG_LEVEL is left as it is.
# OpenCV 5 has it as cv2.utils.logging; OpenCV 4 (JetPack's, with the GStreamer csi:// needs; the
# last pip wheels for NumPy 1) only as cv2.setLogLevel, where 0 is LOG_LEVEL_SILENT.
if "OPENCV_LOG_LEVEL" not in os.environ:
    _logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if _logging is not None:
        _logging.setLogLevel(_logging.LOG_LEVEL_SILENT)
    elif hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(0)


def to_bgr8(frame: np.ndarray) -> np.ndarray:
    """Greyscale, BGR, BGRA; uint8, uint16 or float in [0, 1] -> contiguous BGR uint8. What cannot
    be a frame is a one-line ``FrameTypeError`` (no array, a dtype not read) or ``FrameError``."""
    if not isinstance(frame, np.ndarray):
        what = "None (cv2.imread gives None for a file it cannot read)" if frame is None else type(frame).__name__
        if type(frame).__module__.startswith("PIL."):  # a Pillow image: its array is RGB
            what += " (a PIL image: give cv2.cvtColor(np.asarray(image.convert('RGB')), cv2.COLOR_RGB2BGR))"
        raise FrameTypeError(f"a frame must be a numpy array (HxWx3 BGR uint8), not {what}")
    if frame.ndim == 2:
        frame = frame[..., None]
    if frame.ndim != 3 or frame.shape[2] not in (1, 3, 4):
        raise FrameError(f"unsupported frame shape {frame.shape}: expected HxW, HxWx1, HxWx3 or HxWx4")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise FrameError(f"unsupported frame shape {frame.shape}: an empty frame ({frame.shape[1]}x{frame.shape[0]})")
    if frame.dtype.kind == "u" and frame.dtype.itemsize == 2:  # either byte order (a FITS file's is big)
        frame = (frame.astype(np.uint16, copy=False) >> 8).astype(np.uint8)
    elif frame.dtype.kind == "f":
        frame = (np.clip(np.nan_to_num(frame), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    elif frame.dtype != np.uint8:
        raise FrameTypeError(f"unsupported frame dtype {frame.dtype}: expected uint8, uint16 or float (0 to 1)")
    if frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    elif frame.shape[2] == 4:
        frame = frame[..., :3]
    return np.ascontiguousarray(frame)


# A float frame may stray this far outside 0 to 1 before it is refused; inside, it is clipped, as
# converting to uint8 clips. Resampling overshoots at edges: 0-1 photos resized by cv2.INTER_CUBIC or
# INTER_LANCZOS4 ran from -0.41 to 1.43 at worst (211 shared images, 0.6x to 3x; 1 in 100 past
# -0.25 or 1.29), and every one of 40 portraits enlarged 1.7x went past the 1/255 allowed before,
# refused as 0-255 floats ('divide by 255': black). A 0-255 frame tops 1.5 unless all but black; a
# -1 to 1 one goes under -0.5 unless nothing in it is darker than a quarter.
FLOAT_SLACK = 0.5


def checked_frame(frame: np.ndarray, what: str = "frame") -> np.ndarray:
    """A frame given to the library (``Pipeline``) as BGR uint8 (``to_bgr8``), a float one refused
    unless its values are finite and from 0 to 1 (give or take ``FLOAT_SLACK``, clipped): 0-255
    floats (``frame.astype(np.float32)``) were read as white and NaN as black, without a word.
    (Decoded photos go through ``to_bgr8``, which clips: a high-dynamic-range file's highlights.)"""
    if isinstance(frame, np.ndarray) and frame.dtype.kind == "f" and frame.size:
        if not np.isfinite(frame).all():
            raise FrameError(f"{what} has NaN or infinite values: a float {what} must be from 0 to 1")
        low, high = float(frame.min()), float(frame.max())
        if low < -FLOAT_SLACK:
            raise FrameError(
                f"{what} values run from {low:g} to {high:g}: a float {what} is read as 0 to 1 "
                "(scale it so: (frame + 1) / 2 for one from -1 to 1; or give uint8)"
            )
        if high > 1 + FLOAT_SLACK:
            raise FrameError(
                f"{what} values run from {low:g} to {high:g}: a float {what} is read as 0 to 1 "
                "(divide by 255, or give uint8)"
            )
    return to_bgr8(frame)


_INV255 = np.float32(1 / 255)


def to_network_input(bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """BGR uint8 frame -> (1, 3, H, W) RGB float32 in [0, 1] at ``size`` = (width, height), squashed."""
    w, h = size
    shrink = bgr.shape[1] > w or bgr.shape[0] > h
    small = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return rgb_planes(small)


def rgb_planes(bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 (H, W, 3) -> contiguous (1, 3, H, W) RGB float32 in [0, 1]. Each plane is scaled
    straight into the buffer: the same numbers as converting, scaling and transposing, without the
    copies (0.55 ms instead of 1.8 for a 352x352 network input here, resize included; an engine
    would otherwise copy the transposed view once more)."""
    if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
        raise DeepPhotoError(f"network input: expected BGR uint8 (H, W, 3), got {bgr.dtype} {bgr.shape}")
    h, w = bgr.shape[:2]
    out = np.empty((1, 3, h, w), np.float32)
    for c in range(3):
        np.multiply(bgr[..., 2 - c], _INV255, out=out[0, c])
    return out


def mix(painted: np.ndarray, original: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` (0-1) of ``painted`` over ``original`` (same shape, uint8): 1 the painting, 0 the
    original; what ``--strength`` does to a painted frame."""
    if strength >= 1.0:
        return painted
    if strength <= 0.0:
        return original.copy()
    return cv2.addWeighted(painted, float(strength), original, 1.0 - float(strength), 0.0)


def letterbox(image: np.ndarray, size: tuple[int, int], fill: int | tuple[int, ...] = 0) -> np.ndarray:
    """The whole ``image`` scaled into ``size`` (width, height), its shape kept, centred on ``fill``
    (black bars where the shapes differ)."""
    w, h = size
    ih, iw = image.shape[:2]
    if (iw, ih) == (w, h):
        return image
    s = min(w / iw, h / ih)
    nw, nh = min(w, max(1, round(iw * s))), min(h, max(1, round(ih * s)))
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    out = np.full((h, w, *image.shape[2:]), fill, image.dtype)
    top, left = (h - nh) // 2, (w - nw) // 2
    out[top : top + nh, left : left + nw] = small.reshape(nh, nw, *image.shape[2:])
    return out


# Bars round a picture (a landscape clip padded to a phone's 9:16, a 4:3 show in a 16:9 frame, a
# film's letterbox, photos of several shapes made into one video): rows (or columns) at opposite
# edges of one colour, each bar at least BAR_MIN of the side and the pair as deep as each other within
# BAR_SKEW of the side (or 4 pixels). Black bars: no pixel of them above BAR_BLACK in any channel (a
# coded black decodes to 0-3), and the picture's edge along them lit over BAR_EDGE of its length (the
# mean of the two edges): a dark scene is seldom black to the last pixel of a whole row, more seldom
# equally deep at both edges, and where it is its first lit rows are lit here and there (0.01-0.09 of
# their length, against 0.13-1.0 at a picture's edge, on the clips of hunt 29).
BAR_BLACK = 20
BAR_MIN = 0.03
BAR_SKEW = 0.02
BAR_EDGE = 0.15
# Bars of another colour (white, grey, a brand's colour: phone editors and exports pad with them):
# the frame's two outer rows (columns) flat, no channel spread over BAR_FLAT within them, and of one
# colour; every pixel of the bars within BAR_PAD of the colours of those outer rows (H.264 leaves
# +-2-3 levels deep in a flat bar); and each of the picture's two edges, not their mean, off that
# colour over BAR_FLAT_EDGE of its length. A bright scene is flat to the last pixel more often than a
# dark one is black (a blown-out sky or wall is 255 throughout), so its edges must be the straight,
# full edge of a picture, both of them.
BAR_FLAT = 8
BAR_PAD = 8
BAR_FLAT_EDGE = 0.5
# H.264 rings next to the picture's edge where it is not on the codec's grid (a 720p clip padded to
# 9:16 starts 437 rows down): up to BAR_BAND rows (columns, a macroblock) of a flat bar next to the
# picture are off its colour here and there, by at most BAR_RING (27-44 at crf 23-35; more in a
# colour's row that shares its chroma with the picture's, taken as picture). The picture's edge is
# the row furthest from the colour past the row before, up to the first one off by more than
# BAR_RING (the picture itself); the ringing rows stay bars. Taken as the picture's edge, a ringing
# row off only here and there failed BAR_FLAT_EDGE: most coded clips padded that way kept no bars.
BAR_RING = 48
BAR_BAND = 16
# Nor where the picture inside them is mostly of their colour (over BAR_INSIDE of it, within BAR_PAD):
# a document, a slide or a form on white with a full-width rule or band at the same depth top and
# bottom (a header and a footer), an app between two toolbars of its page's colour, is a page, not
# a picture padded with bars; taken as bars, its margins were left unpainted round a painted middle.
# A picture padded with white is seldom more than half blown out.
BAR_INSIDE = 0.5
# Black bars ring so too (a 1920x800 film in 1080 rows starts on row 140): the rows lit here and there
# next to the picture failed BAR_EDGE, and 4 in 10 such clips at crf 23, 9 in 10 at crf 32, had their
# bars painted. They are taken as bar only where a dark backdrop or a vignette (eg-portraits) cannot
# pass for them: all within the codec's block (BAR_BLOCK, a macroblock, as its chroma rings) holding
# the picture's edge and BAR_DEBLOCK rows before it, no brighter than BAR_BLACK + BAR_RING, the rest
# of the bar truly black (BAR_DEEP: a coded black decodes to 0-3; a backdrop lifted to 20 is not),
# and the picture's edge a step past them: BAR_EDGE more of it lit and BAR_RISE grey levels brighter
# (a vignette's slope rises a level or two a row).
BAR_BLOCK = 16
BAR_DEBLOCK = 3
BAR_DEEP = 8
BAR_RISE = 10
# A box found is kept while a caption or a channel's logo lights a little of its bars (subtitles of a
# letterboxed film are drawn in its bottom bar): at most BAR_TEXT of the bars' pixels off their
# colour, none of the BAR_RIM rows (columns) next to the picture nor of the frame's edges. The bars
# flipped between their colour and painted, and the mask and painting between the box and the whole
# frame, at each subtitle.
BAR_TEXT = 0.25
BAR_RIM = 2
_BAR_STEP = 8  # every 8th column is read for a row's colour (every 8th row for a column's)
_BLACK = ((0, 0, 0), (BAR_BLACK,) * 3)

Colours = tuple[tuple[int, ...], tuple[int, ...]]  # the lowest and highest (B, G, R) of bars


def _widened(low: Sequence[int], high: Sequence[int], by: int) -> Colours:
    """The colours from ``low`` to ``high`` (B, G, R) and ``by`` more each way."""
    return tuple(max(0, int(v) - by) for v in low), tuple(min(255, int(v) + by) for v in high)


def _bar_colours(edges: tuple[np.ndarray, np.ndarray]) -> Colours | None:
    """The colours bars whose outer rows (or columns, BGR) are ``edges`` may have: black, or a flat
    colour (``BAR_FLAT``, ``BAR_PAD``); None where the two are not of one flat colour."""
    if all(int(edge.max()) <= BAR_BLACK for edge in edges):
        return _BLACK
    both = np.concatenate(edges).reshape(-1, 3)
    low, high = both.min(axis=0), both.max(axis=0)
    if int((high.astype(int) - low).max()) > BAR_FLAT:
        return None
    return _widened(low, high, BAR_PAD)


def _off(image: np.ndarray, colours: Colours) -> np.ndarray:
    """Where ``image`` (BGR: a line of pixels or a picture) is not of the bars' ``colours`` (bool)."""
    pixels = np.ascontiguousarray(image).reshape(-1, 1, 3) if image.ndim == 2 else image
    return (cv2.inRange(pixels, colours[0], colours[1]) == 0).reshape(image.shape[:-1])


def _black_edge(strip: np.ndarray, depth: int, side: int, far: bool) -> tuple[int, float, int]:
    """Where the picture's edge is past a black bar's first lit row (column) read, ``depth`` into
    ``strip`` (BGR, rows from the frame's edge inwards; ``side``: the frame's height, or width;
    ``far``: the bottom or right bar), the share of that row lit, and how many rows before it are
    the codec's ringing (``BAR_BLOCK``, ``BAR_DEBLOCK``, ``BAR_DEEP``, ``BAR_RISE``; 0: none, and
    the rest of the bar must be black)."""
    off = _off(strip, _BLACK)
    start = min(depth, int(np.argmax(off.any(axis=-1))))  # the first row lit at all (every column read)
    lit = np.zeros(len(strip))
    lit[start:] = off[start:].mean(axis=-1)
    lines = strip[start:]
    brightest = np.maximum(np.maximum(lines[..., 0], lines[..., 1]), lines[..., 2])
    level = np.zeros(len(strip))
    level[start:] = brightest.mean(axis=-1)  # each row's mean brightness (its brightest channel)
    grey = _off(strip[:start], ((0, 0, 0), (BAR_DEEP,) * 3)).any(axis=-1) if start else np.zeros(0, bool)
    deep = int(np.argmax(grey)) if grey.any() else start  # the bar truly black before this row
    at, jump, rows = 0, float(lit[depth]) if start == depth else -1.0, 0
    for edge in range(max(depth, start + 1), len(strip)):
        if int(brightest[edge - 1 - start].max()) > BAR_BLACK + BAR_RING:  # the picture itself before
            break
        row = side - 1 - edge if far else edge  # the picture's row at its edge, in the frame
        block = row - row % BAR_BLOCK  # the codec's block holding it, and the rows it may ring in
        ringing = (side - 1) - (block + BAR_BLOCK - 1) - BAR_DEBLOCK if far else block - BAR_DEBLOCK
        step = float(lit[edge] - lit[start:edge].max())  # a picture's edge is a step, not a slope
        rise = float(level[edge] - level[start:edge].max())  # (a vignette's)
        if ringing <= min(start, deep) and step >= BAR_EDGE and rise >= BAR_RISE and step > jump:
            at, jump, rows = edge - depth, step, edge - start  # (the rest of the bar truly black)
    return at, float(lit[depth + at]), rows


def _picture_edge(strip: np.ndarray, depth: int, side: int, far: bool, colours: Colours) -> tuple[int, float, int]:
    """Where the picture's edge is past a bar's first row (or column) off its colour, ``depth`` into
    ``strip`` (BGR, rows from the frame's edge inwards; ``side``, ``far``: as for ``_black_edge``),
    the share of it off the colour, and how many rows next to it may ring: the line furthest from
    the colour past the one before, among those up to the first off by more than ``BAR_RING``."""
    if colours == _BLACK:
        return _black_edge(strip, depth, side, far)
    lines = strip[depth : depth + BAR_BAND]
    ringing = _widened(*colours, BAR_RING)
    low, high = (np.array(c, np.int16) for c in colours)
    at, jump, before = 0, -1.0, 0.0
    for i, line in enumerate(lines):
        pixels = line.astype(np.int16)
        off_by = float(np.maximum(low - pixels, pixels - high).max(axis=-1).clip(0).mean())
        if off_by - before > jump:
            at, jump = i, off_by - before
        before = off_by
        if _off(line, ringing).any():  # the picture itself, not the codec's ringing
            break
    return at, float(_off(lines[at], colours).mean()), BAR_BAND


def _bar_pair(
    first: int, last: int, side: int, strips: tuple[np.ndarray, np.ndarray], colours: Colours
) -> tuple[int, int, int, int]:
    """Depths of two opposite bars, or (0, 0) where they are too thin, too unequal or too ragged
    (``strips``: the rows, or columns as rows, from the frame's two edges inwards, BGR, to
    ``BAR_BAND`` past the bars' first ones off their colour) to be bars. ``first``, ``last``: the
    depths of those first ones. Also how many rows (columns) next to the picture may ring in each."""
    near, far = strips
    (a, share_a, ring_a), (b, share_b, ring_b) = (
        _picture_edge(near, first, side, False, colours),
        _picture_edge(far, last, side, True, colours),
    )
    first, last = first + a, last + b
    if min(first, last) < BAR_MIN * side or abs(first - last) > max(4.0, BAR_SKEW * side):
        return 0, 0, 0, 0
    if colours == _BLACK:
        found = (share_a + share_b) / 2 >= BAR_EDGE
    else:
        found = min(share_a, share_b) >= BAR_FLAT_EDGE
    return (first, last, ring_a, ring_b) if found else (0, 0, 0, 0)


def _bars_plain(
    frame: np.ndarray,
    box: tuple[int, int, int, int],
    colours: Colours,
    captions: bool = False,
    rings: tuple[int, int, int, int] | None = None,
) -> bool:
    """Whether everything of ``frame`` outside ``box`` (top, bottom, left, right) is of the bars'
    ``colours`` (but for the codec's ringing next to the picture: ``BAR_RING``, in ``rings`` rows or
    columns of each bar, or ``BAR_BAND`` of bars of a colour, a codec block of held black ones); with
    ``captions``, or is but for a caption or a logo in them (``BAR_TEXT``, ``BAR_RIM``)."""
    top, bottom, left, right = box
    h, w = frame.shape[:2]
    if h < bottom or w < right:
        return False
    if rings is None:
        rings = (BAR_BAND if colours != _BLACK else BAR_BLOCK + BAR_DEBLOCK if captions else 0,) * 4
    above, below, before, after = rings
    ringing = _widened(*colours, BAR_RING)
    rings = (  # next to the picture: its colours or the ringing round them
        frame[max(0, top - above) : top],
        frame[bottom : bottom + below],
        frame[top:bottom, max(0, left - before) : left],
        frame[top:bottom, right : right + after],
    )
    bars = (  # the rest of the bars
        frame[: max(0, top - above)],
        frame[bottom + below :],
        frame[:, : max(0, left - before)],
        frame[:, right + after :],
    )
    if all(not bar.size or not _off(bar, colours).any() for bar in bars) and all(
        not ring.size or not _off(ring, ringing).any() for ring in rings
    ):
        return True
    if not captions:
        return False
    edges = (  # the frame's own edges, and next to the picture (the picture itself reaching out)
        (frame[:1] if top else frame[:0], colours),
        (frame[h - 1 :] if bottom < h else frame[:0], colours),
        (frame[:, :1] if left else frame[:0], colours),
        (frame[:, w - 1 :] if right < w else frame[:0], colours),
        (frame[max(0, top - BAR_RIM) : top, left:right], ringing),
        (frame[bottom : bottom + BAR_RIM, left:right], ringing),
        (frame[top:bottom, max(0, left - BAR_RIM) : left], ringing),
        (frame[top:bottom, right : right + BAR_RIM], ringing),
    )
    if any(edge.size and _off(edge, allowed).any() for edge, allowed in edges):
        return False
    seen = [part[::4, ::4] for part in (*bars, *rings) if part.size]  # every 4th row and column: the share off
    off = sum(int(_off(part, colours).sum()) for part in seen)
    total = sum(part.shape[0] * part.shape[1] for part in seen)
    return off <= BAR_TEXT * total


def _found(frame: np.ndarray) -> tuple[tuple[int, int, int, int], Colours, tuple[int, int, int, int]] | None:
    """``frame``'s picture box found afresh (as ``picture_box``, nothing held), its bars' colours and
    how many rows (columns) of each bar next to the picture may ring; None where it has no bars."""
    h, w = frame.shape[:2]
    colours = _bar_colours((frame[0], frame[-1])) or _bar_colours((frame[:, 0], frame[:, -1]))
    if colours is None:  # most frames: no pair of plain edges of one colour
        return None  # (a dark floor or sky at one edge is not a pair of bars)
    band = BAR_BAND
    small = cv2.resize(frame, (max(1, w // _BAR_STEP), h), interpolation=cv2.INTER_NEAREST)
    lit_rows = np.flatnonzero(_off(small, colours).any(axis=1))
    if lit_rows.size == 0:  # a frame of one colour (a fade to black): no picture to find bars round
        return None
    first, end = int(lit_rows[0]), int(lit_rows[-1]) + 1
    strips = (frame[: first + band], frame[max(0, end - band) :][::-1])
    top, bottom, above, below = _bar_pair(first, h - end, h, strips, colours)
    inside = frame[top : h - bottom]
    cols = cv2.resize(inside, (w, max(1, inside.shape[0] // _BAR_STEP)), interpolation=cv2.INTER_NEAREST)
    lit_cols = np.flatnonzero(_off(cols, colours).any(axis=0))
    left = right = before = after = 0
    if lit_cols.size:
        first, end = int(lit_cols[0]), int(lit_cols[-1]) + 1
        strips = (inside[:, : first + band], inside[:, max(0, end - band) :][:, ::-1])
        columns = (strips[0].transpose(1, 0, 2), strips[1].transpose(1, 0, 2))  # as rows
        left, right, before, after = _bar_pair(first, w - end, w, columns, colours)
    if not (top or left):
        return None
    box = (top, h - bottom, left, w - right)
    if colours != _BLACK:  # (black: a night scene inside a letterbox is mostly black)
        inside = np.ascontiguousarray(frame[box[0] : box[1] : 4, box[2] : box[3] : 4])
        if inside.size and 1.0 - float(_off(inside, colours).mean()) > BAR_INSIDE:
            return None
    rings = (above, below, before, after)
    plain = _bars_plain(frame, box, colours, rings=rings)
    return (box, colours, rings) if plain else None  # a pixel off between the rows or columns read


def picture_box(frame: np.ndarray, last: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int] | None:
    """The picture inside bars of ``frame`` (BGR uint8) as (top, bottom, left, right), rows
    ``top:bottom`` and columns ``left:right``; None where it has none. The bars are black or of
    another flat colour (white, grey, a brand's). ``last``: the frame before's box, kept while its
    bars are still of one colour (but for a caption in them), so a dark or bright scene inside the
    bars, or a subtitle, does not change it."""
    h, w = frame.shape[:2]
    if frame.ndim != 3 or frame.shape[2] != 3 or min(h, w) < 16:
        return None
    if last is not None:
        outer = (frame[0], frame[-1]) if last[0] else (frame[:, 0], frame[:, -1])
        colours = _bar_colours(outer)
        if colours is not None and _bars_plain(frame, last, colours, captions=True):
            return last
    found = _found(frame)
    return None if found is None else found[0]


# A held box is kept while everything outside it is still of the bars' colour, so it never narrowed:
# a film going from 2:1 to 2.39:1 (an IMAX sequence ending, across a cut or not), a 4:3 insert
# pillarboxed inside a letterboxed film, kept the wider box, and the new black bars inside it were
# segmented and painted a slab on every frame. A held box of black bars narrows to a box found
# afresh strictly inside it (the held bars taken as black, so a subtitle in them is no matter) whose
# new bars are truly black (no pixel over BAR_DEEP, but in the codec's block holding the picture's
# edge and BAR_DEBLOCK rows before it, which may ring) and which is found BAR_NARROW frames running
# (within BAR_NARROW_NEAR): a dark scene, or a fade's frames, black at both edges for a frame or two
# or lifted off black (a night sky, a dark floor) keeps the box.
BAR_NARROW = 5
BAR_NARROW_NEAR = 2


def _outside_ringing(start: int, end: int, edge: int, far: bool) -> tuple[int, int]:
    """Of new bar rows (columns) ``start:end`` next to the picture's edge row ``edge`` (its first,
    or with ``far`` its last), those outside the codec's block holding that edge and the
    ``BAR_DEBLOCK`` rows past it, which may ring."""
    if far:
        return min(end, max(start, edge - edge % BAR_BLOCK + BAR_BLOCK + BAR_DEBLOCK)), end
    return start, max(start, min(end, edge - edge % BAR_BLOCK - BAR_DEBLOCK))


def _narrower(frame: np.ndarray, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """A picture box strictly inside the held ``box`` of black bars in ``frame`` whose new bars are
    truly black (``BAR_DEEP``, but for the codec's ringing next to the picture); None where none."""
    top, bottom, left, right = box
    if _bar_colours((frame[0], frame[-1]) if top else (frame[:, 0], frame[:, -1])) != _BLACK:
        return None  # (bars of another colour are held as they are)
    # the held picture's edge rows (columns) truly black, as new bars' outer rows are (but new bars
    # thinner than the codec's ringing): else none there (most frames; a dark scene's grain, 16 ms a
    # 1920x1080 frame searched)
    rows = int(frame[top, left:right].max()) <= BAR_DEEP and int(frame[bottom - 1, left:right].max()) <= BAR_DEEP
    cols = int(frame[top:bottom, left].max()) <= BAR_DEEP and int(frame[top:bottom, right - 1].max()) <= BAR_DEEP
    if not (rows or cols):
        return None
    inside = np.zeros_like(frame)  # the held bars taken as black (a subtitle in them is no matter)
    inside[top:bottom, left:right] = frame[top:bottom, left:right]
    found = _found(inside)
    if found is None or found[1] != _BLACK:
        return None
    inner = found[0]
    t, b, lf, r = inner
    if inner == box or t < top or b > bottom or lf < left or r > right:
        return None
    y0, y1 = _outside_ringing(top, t, t, False)
    y2, y3 = _outside_ringing(b, bottom, b - 1, True)
    x0, x1 = _outside_ringing(left, lf, lf, False)
    x2, x3 = _outside_ringing(r, right, r - 1, True)
    new = (
        frame[y0:y1, left:right],
        frame[y2:y3, left:right],
        frame[t:b, x0:x1],
        frame[t:b, x2:x3],
    )
    if any(part.size and int(part.max()) > BAR_DEEP for part in new):
        return None  # a dark scene's rows, lifted off black: not bars
    return inner


class PictureBoxes:
    """A stream's picture boxes frame by frame (``picture_box``, the box before held), narrowed to
    a box strictly inside the held one when its new bars are truly black ``BAR_NARROW`` frames
    running (a film going from 2:1 to 2.39:1, a 4:3 insert pillarboxed inside its letterbox)."""

    def __init__(self) -> None:
        self.box: tuple[int, int, int, int] | None = None
        self._inner: tuple[int, int, int, int] | None = None
        self._seen = 0

    def reset(self) -> None:
        self.box = self._inner = None
        self._seen = 0

    def __call__(self, frame: np.ndarray) -> tuple[int, int, int, int] | None:
        """``frame``'s (BGR uint8) picture box, or None where it has no bars."""
        box = picture_box(frame, self.box)
        inner = _narrower(frame, box) if box is not None and box == self.box else None
        if inner is None:
            self._seen = 0
        elif (
            self._inner is not None
            and self._seen
            and max(abs(a - b) for a, b in zip(inner, self._inner)) <= BAR_NARROW_NEAR
        ):
            self._seen += 1
        else:
            self._seen = 1
        self._inner = inner
        if inner is not None and self._seen >= BAR_NARROW:
            box, self._inner, self._seen = inner, None, 0
        self.box = box
        return box


def small_grey(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A small float32 grey copy in [0, 1] at ``size`` (width, height): what motion checks compare."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32) * (1 / 255)


# How photos are decoded: any depth (16-bit kept until to_bgr8), grey or colour, and the EXIF
# orientation applied (IMREAD_UNCHANGED would ignore it and leave a phone's photo on its side);
# an alpha channel is dropped, as to_bgr8 would drop it.
PHOTO = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR

# "Any painting" (deepphoto.arbitrary) refuses a photo or painting smaller than this on either
# side; the web page checks an uploaded painting against it when it arrives.
MIN_STYLE_SIDE = 8
# A painting whose pixels spread less than this in every colour channel (standard deviation, 0-255)
# is one flat colour, as a fully transparent image reads (on white): no strokes or colours to paint
# or learn a style from.
FLAT_PAINTING_STD = 2.0


# A painting smaller than this on either side is refused alike by ``add-style`` and ``edit
# --style-image`` (``check_painting``): scaled up to the networks' sizes it is a blur of a few colours,
# and VGG19 halves a picture four times before the optimiser's last Gram layer.
MIN_PAINTING_SIDE = 16
# A painting is kept with a user style, and the optimiser takes its Gram matrices, at this long side
# (``user_styles.PAINTING_SIDE``, ``optimizer.PAINTING_SIDE`` are this): its short side must keep
# ``MIN_PAINTING_SIDE`` there (``optimizer.check_painting_shape``), so at most 32:1.
PAINTING_LONG_SIDE = 512


def check_painting(painting: np.ndarray, path: object, use: str) -> None:
    """A one-line error when ``painting`` (read from ``path``) cannot be a style: smaller than
    ``MIN_PAINTING_SIDE`` on a side, too long and thin for the optimiser, or one flat colour
    (nothing to ``use``). The one check of every command that takes a painting, so that they refuse
    the same paintings in the same words (and a style add-style learnt paints with either method)."""
    h, w = painting.shape[:2]
    if min(h, w) < MIN_PAINTING_SIDE:
        raise DeepPhotoError(
            f"{path}: a painting of {w}x{h} pixels; both sides must be at least {MIN_PAINTING_SIDE} pixels"
        )
    if round(min(h, w) * PAINTING_LONG_SIDE / max(h, w)) < MIN_PAINTING_SIDE:
        raise DeepPhotoError(
            f"{path}: a painting of {w}x{h} pixels is too long and thin (at most "
            f"{PAINTING_LONG_SIDE // MIN_PAINTING_SIDE}:1); crop it"
        )
    check_not_flat(painting, path, use)


def check_not_flat(painting: np.ndarray, path: object, use: str) -> None:
    """A one-line error when ``painting`` (read from ``path``) is one flat colour: nothing to ``use``."""
    # each colour channel's own spread: the spread of all the numbers together is that of the
    # channels' levels (a flat orange, 200/120/40, spreads 65 and was taken as a painting); every
    # pixel of a grid of at most 1024x1024 (a 100-megapixel painting's float copy took gigabytes)
    step = max(1, -(-max(painting.shape[:2]) // 1024))
    pixels = painting[::step, ::step].reshape(-1, painting.shape[2] if painting.ndim == 3 else 1)
    spread = pixels.std(axis=0).max()
    if float(spread) < FLAT_PAINTING_STD:
        raise DeepPhotoError(
            f"{path}: is one flat colour (a fully transparent image reads as one): no strokes or colours to {use}"
        )


# A pixel of a painting at least this opaque (alpha, 0-255) is the painting's (``painting_from``).
OPAQUE = 128


def painting_from(image: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """The painting to take a style from in ``image`` (BGR uint8, transparent pixels on white, as
    the readers give it) with its ``alpha`` (uint8, or None). A painting cut out on a transparent
    background is the box of its opaque part, the clear pixels left in it laid on the opaque part's
    mean colour instead of white: on white its style was washed white (the whole background of a
    photo painted after a round painting cut out came back near white). Without alpha, or with
    nothing opaque (refused then as one flat colour), ``image`` as it is."""
    if alpha is None or alpha.shape != image.shape[:2] or alpha.min() >= OPAQUE:
        return image
    rows, cols = np.flatnonzero((alpha >= OPAQUE).any(axis=1)), np.flatnonzero((alpha >= OPAQUE).any(axis=0))
    if not len(rows):
        return image
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    image, alpha = image[box], alpha[box]
    mean = image[alpha >= OPAQUE].mean(axis=0)  # of colours laid on white: where alpha is high, nearly their own
    clear = (255 - alpha[..., None].astype(np.float32)) * (1 / 255)
    return np.clip(image + clear * (mean - 255) + 0.5, 0, 255).astype(np.uint8)


def read_painting(path: Path) -> np.ndarray:
    """A painting file as ``check_painting`` and the painters take it (BGR uint8): read as
    ``read_image`` reads a photo, a painting cut out on a transparent background as
    ``painting_from`` says, and a warning where the file holds more than one (an animated GIF or
    WebP): its first frame is the painting."""
    from deepphoto.stream.animation import has_frames

    image, alpha = read_image_alpha(path)
    if has_frames(path):
        warn_user("an animation: its first frame is the painting", path)
    return painting_from(image, alpha)


def read_bytes(path: Path) -> np.ndarray:
    """The bytes of the image file ``path``, or a one-line error (missing, not a file, empty)."""
    path = Path(path)
    if not path.is_file():
        raise not_a_file(path)
    if path.stat().st_size == 0:
        raise DeepPhotoError(f"{path}: file is empty")
    try:
        return np.fromfile(path, np.uint8)
    except OSError as exc:
        raise DeepPhotoError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def decode_file(path: Path, flags: int = PHOTO, what: str = "image", srgb: bool = False) -> np.ndarray:
    """The image file ``path`` decoded from its bytes with ``flags`` (``srgb``: a colour picture
    converted from its embedded colour profile), or a one-line error. Never ``cv2.imread``: a file
    name that is not valid UTF-8 crashes it (segmentation fault)."""
    data = read_bytes(path)
    img = cv2.imdecode(data, flags)
    if img is None:
        raise DeepPhotoError(f"{path}: not a readable {what}")
    return to_srgb(img, embedded_profile(data)) if srgb else img


def read_image(path: Path) -> np.ndarray:
    """Any image (grey, RGBA, 16-bit), upright as its EXIF orientation says, as BGR uint8, or a
    one-line error; transparent pixels on white (not the colours stored under them)."""
    return read_image_alpha(path)[0]


# The largest photo read (width x height, as its header states it, checked before decoding): a
# 12000x9000 photo (108 megapixels) takes about 4 GB to paint; 40000x40000 pixels fit in a 2 MB PNG.
MAX_PHOTO_PIXELS = 200_000_000


def read_image_alpha(path: Path, warn: Callable[[str], None] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``read_image``'s picture, and the image's own alpha channel (uint8, upright) or None; a
    photo of more than ``MAX_PHOTO_PIXELS`` is refused by its header before it is decoded. What is
    worth a warning (a file cut off; a TIFF of several pages or an animated AVIF, of which only the
    first is read) goes to ``warn`` (a batch worker's report; None: stderr)."""

    def say(message: str) -> None:
        if warn is None:
            warn_user(message, path)
        else:
            warn(message)

    data = read_bytes(path)
    check_photo_size(path, data)
    try:
        decoded = decode_photo(data)
    except cv2.error:  # OpenCV's own limits (a header that lied about its size), a decoder's failure
        raise DeepPhotoError(f"{path}: cannot be decoded (damaged, or too large for OpenCV)") from None
    if decoded is None and (partial := decode_cut(data)) is not None:
        say(cut_note(data, "; "))
        decoded = partial
    if decoded is None:
        if is_heic(data):
            raise heic_error(path)
        if kind := jpeg_unread(memoryview(data)):
            raise jpeg_error(path, kind)
        if damage := png_damage(data):
            raise DeepPhotoError(f"{path}: not a readable image: {damage}")
        raise DeepPhotoError(f"{path}: not a readable image")
    h, w = decoded[0].shape[:2]
    if w * h > MAX_PHOTO_PIXELS:  # no header read here (a kind not known to it), or one that lied
        raise DeepPhotoError(f"{path}: {_too_large(w, h)}")
    if more := more_than_one(data):
        say(f"{more}: only the first is used")
    return decoded


def more_than_one(data: np.ndarray) -> str:
    """'a TIFF of 3 pages', 'an animated AVIF of 12 frames': what a photo file holds besides the one
    picture a photo is read as (OpenCV and Pillow decode the first); '' for one picture. An animated
    GIF, WebP or PNG is not counted here: ``edit`` and ``batch`` say so themselves, and ``run``
    plays it."""
    head = bytes(data[:4])
    if head in _TIFF_MAGIC:
        pages = tiff_pages(memoryview(data))
        return f"a TIFF of {pages} pages" if pages > 1 else ""
    if is_avif_sequence(memoryview(data)):
        try:
            with pillow().open(io.BytesIO(data.tobytes())) as image:
                frames = int(getattr(image, "n_frames", 1))
        except Exception:  # noqa: BLE001 - a kind Pillow cannot read: it was decoded otherwise
            return ""
        return f"an animated AVIF of {frames} frames" if frames > 1 else ""
    return ""


def decode_cut(data: np.ndarray) -> tuple[np.ndarray, np.ndarray | None] | None:
    """A JPEG, PNG, BMP or TIFF that ends early (a copy or download cut off: often only its last
    bytes are missing, a JPEG's end marker or a PNG's end chunk, which OpenCV 5 refuses while viewers
    show the photo whole) decoded as far as it goes, as ``decode_photo`` gives it (upright, in sRGB,
    alpha or None, transparent pixels on white), the rest blank (a JPEG's grey); None for anything
    else: a PNG, BMP or TIFF whole but damaged inside, or whose header claims more than it holds, is
    not read as one cut off."""
    jpeg = bytes(data[:3]) == b"\xff\xd8\xff" and not jpeg_unread(memoryview(data))
    if not (jpeg or png_is_cut(data) or _bmp_is_cut(data) or bytes(data[:4]) in _TIFF_MAGIC):
        return None
    from PIL import ImageFile

    with _CUT_JPEG_LOCK:  # Pillow's switch for cut files is process-wide
        before, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, True
        try:
            with pillow().open(io.BytesIO(data.tobytes())) as image:
                if bytes(data[:4]) in _TIFF_MAGIC and not _tiff_is_cut(image, len(data)):
                    return None
                image = upright(image)
                if image.mode.startswith("I;16") or image.mode == "I":  # 16-bit grey: its top 8 bits
                    grey = (np.asarray(image, np.uint32) >> 8).clip(0, 255).astype(np.uint8)
                    rgb, alpha = np.dstack([grey, grey, grey]), None
                elif image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
                    rgba = np.asarray(image.convert("RGBA"))
                    rgb, alpha = rgba[..., :3], np.ascontiguousarray(rgba[..., 3])
                else:
                    rgb, alpha = np.asarray(image.convert("RGB")), None
        except Exception:  # noqa: BLE001 - too little of it, or not such a file after all
            return None
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before
    if not jpeg and not rgb.any() and (alpha is None or not alpha.any()):  # cut before its picture: nothing of it
        return None
    colour = to_srgb(np.ascontiguousarray(rgb[..., ::-1]), embedded_profile(data))
    if alpha is None or alpha.min() == 255:
        return colour, None
    return on_white(colour, alpha), alpha


def _bmp_is_cut(data: np.ndarray) -> bool:
    """Whether a BMP is shorter than its header's file size says."""
    return bytes(data[:2]) == b"BM" and len(data) >= 6 and int.from_bytes(bytes(data[2:6]), "little") > len(data)


def _tiff_is_cut(image: object, size: int) -> bool:
    """Whether a TIFF (opened by Pillow, not decoded) stores a strip or tile of its first picture
    past its ``size`` bytes."""
    tags = getattr(image, "tag_v2", {})
    ends = []
    for offsets, counts in ((273, 279), (324, 325)):  # strips, tiles
        starts, lengths = tags.get(offsets), tags.get(counts)
        if starts is not None and lengths is not None:
            starts = starts if isinstance(starts, tuple) else (starts,)
            lengths = lengths if isinstance(lengths, tuple) else (lengths,)
            ends += [int(o) + int(n) for o, n in zip(starts, lengths, strict=False)]
    return bool(ends) and max(ends) > size


def cut_note(data: np.ndarray, joint: str) -> str:
    """What a user is told of a file ``decode_cut`` read (``joint`` between its two parts)."""
    rest = "grey" if bytes(data[:3]) == b"\xff\xd8\xff" else "blank"
    return f"the file ends early (cut off){joint}what it holds is used, the rest {rest}"


def png_is_cut(data: np.ndarray) -> bool:
    """Whether a PNG ends before its end chunk (IEND): a download or copy cut off. Told by its
    chunks, before decoding: libpng writes its own line on stderr of a PNG cut off."""
    if bytes(data[:8]) != b"\x89PNG\r\n\x1a\n":
        return False
    at = 8
    while at + 8 <= len(data):  # chunks: length (4 bytes, big-endian), type (4), data, CRC (4)
        if bytes(data[at + 4 : at + 8]) == b"IEND":
            return False
        at += 12 + int.from_bytes(bytes(data[at : at + 4]), "big")
    return True


_CUT_JPEG_LOCK = threading.Lock()


def _too_large(w: int, h: int) -> str:
    return (
        f"{w}x{h} pixels ({w * h / 1e6:.0f} megapixels) is more than DeepPhoto paints "
        f"(at most {MAX_PHOTO_PIXELS / 1e6:.0f} megapixels)"
    )


def check_photo_size(path: Path, data: np.ndarray) -> None:
    """A one-line error for a photo whose header says it is larger than ``MAX_PHOTO_PIXELS``."""
    try:
        found = image_size(memoryview(data))  # the whole file: a TIFF's directory may lie at its end
    except DamagedHeader:
        return  # the decoder says what is wrong with it
    if found is not None and found[1] * found[2] > MAX_PHOTO_PIXELS:
        raise DeepPhotoError(f"{path}: {_too_large(found[1], found[2])}")


def check_photo(path: Path) -> None:
    """A one-line error for a file that is no photo DeepPhoto can read, told cheaply (a batch checks
    every photo before Ray starts, so a damaged one fails at once, not after the workers took 17 s to
    start): by its first bytes where it starts as a kind known here, its size checked too; decoded
    (``read_image_alpha``) only where it does not (a text named .jpg, a kind such as PPM) or its
    header is damaged (a file cut off may still be read). A photo damaged past a sound header is
    found by the worker that paints it."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError as exc:
        if not path.is_file():
            raise not_a_file(path) from None
        raise DeepPhotoError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise DeepPhotoError(f"{path}: file is empty")
    if is_heic(head):
        raise heic_error(path)
    if kind := jpeg_unread(head):
        raise jpeg_error(path, kind)
    try:
        found = image_size(head)
    except DamagedHeader:
        found = None
    if found is None or found[1] * found[2] == 0:  # a header that says no size: the decoder judges
        read_image_alpha(path, warn=lambda message: None)  # its reason, as a worker would give it
    elif found[1] * found[2] > MAX_PHOTO_PIXELS:
        raise DeepPhotoError(f"{path}: {_too_large(found[1], found[2])}")


def heic_error(path: Path | str) -> DeepPhotoError:
    """The one-line error for a HEIC photo (``image_header.is_heic``)."""
    return DeepPhotoError(
        f"{path}: a HEIC photo, which DeepPhoto does not read: save it as JPEG (on an iPhone, "
        "Settings > Camera > Formats > Most Compatible)"
    )


def jpeg_error(path: Path | str, kind: str) -> DeepPhotoError:
    """The one-line error for a JPEG of a ``kind`` that ``image_header.jpeg_unread`` names."""
    return DeepPhotoError(f"{path}: {jpeg_refusal(kind)}")


def jpeg_refusal(kind: str) -> str:
    """What is said of a JPEG of a ``kind`` that ``image_header.jpeg_unread`` names."""
    return f"{kind}, which DeepPhoto does not read: save it as PNG or TIFF, or as an ordinary (8-bit) JPEG"


def check_not_heic(path: Path | str) -> None:
    """``heic_error`` for a file that is a HEIC photo by its first bytes, whatever its name; nothing
    for any other file, or one that cannot be read (its reader says why). ``run`` and ``batch``
    would otherwise open it as a video (FFmpeg reads HEIF) and paint its first tile only."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return
    if is_heic(head):
        raise heic_error(path)


_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")  # little- and big-endian
# The formats whose files can hold an alpha channel: PNG, WebP, GIF, TIFF (by their first bytes).
_ALPHA_MAGIC = (b"\x89PNG", b"RIFF", b"GIF8", *_TIFF_MAGIC)


def decode_photo(data: np.ndarray, flags: int = PHOTO) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The image file's bytes ``data`` as (BGR uint8 upright as its EXIF orientation says, in sRGB
    where it embeds another colour profile, alpha uint8 or None), transparent pixels on white; None
    if they are not a readable image."""
    if png_is_cut(data):  # decode_cut reads it
        return None
    if jpeg_unread(memoryview(data)):  # refused (not read in false colours); its reader says why
        return None
    stored, damage = sound_png(data)
    decoded = None if damage else _decode_stored(stored, flags)
    if decoded is None:
        return None
    return to_srgb(decoded[0], embedded_profile(png_without_text(data))), decoded[1]


def _decode_stored(data: np.ndarray, flags: int) -> tuple[np.ndarray, np.ndarray | None] | None:
    """``decode_photo``'s picture as the file stores its numbers. A file that can hold alpha is
    decoded once with it and turned here as OpenCV turns what it decodes without (it does not turn
    what it decodes with alpha); any other once with ``flags``."""
    if is_avif(data) and (avif := _decode_avif(data)) is not None:
        return avif
    if _may_have_alpha(data):
        raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if raw is not None and raw.ndim == 2 and (key := _grey_key(data)) is not None:
            # a grey PNG with one grey level made clear (tRNS), which OpenCV does not apply
            raw = np.dstack([raw, raw, raw, np.where(raw == key, 0, np.iinfo(raw.dtype).max).astype(raw.dtype)])
        if raw is not None and raw.ndim == 3 and raw.shape[2] == 4:
            tiff = bytes(data[:4]) in _TIFF_MAGIC
            unturned = tiff or bytes(data[:4]) == b"GIF8"  # OpenCV turns a TIFF; a GIF has no EXIF
            turn = (lambda x: x) if unturned else _TURNS[exif_orientation(data.tobytes()) - 1]
            # libtiff gives 8-bit colour with alpha premultiplied (stored so, or made so): ExtraSamples 1 or 2
            premultiplied = tiff and raw.dtype == np.uint8 and tiff_tag(data.tobytes(), 0, 0x0152) in (1, 2)
            alpha = raw[..., 3]
            alpha = (alpha >> 8).astype(np.uint8) if alpha.dtype == np.uint16 else to_bgr8(alpha[..., None])[..., 0]
            colour = to_bgr8(np.ascontiguousarray(turn(raw[..., :3])))
            if alpha.min() == 255:
                return colour, None
            alpha = np.ascontiguousarray(turn(alpha))
            return on_white(colour, alpha, premultiplied), alpha
    image = cv2.imdecode(data, flags)
    return None if image is None else (to_bgr8(image), None)


def upright(image: Any) -> Any:
    """A picture opened by Pillow turned as its EXIF orientation says (an AVIF's ``irot``/``imir``
    boxes, which Pillow gives as one), as OpenCV turns a photo and browsers show it; not by an XMP
    packet's tiff:Orientation or ImageMagick's 'Raw profile type exif' text, which Pillow follows
    where there is no EXIF orientation and viewers do not: a JPEG whose XMP alone said 'turn' was read
    as stored when whole but turned when cut off."""
    from PIL import ImageOps

    for key in ("xmp", "XML:com.adobe.xmp", "Raw profile type exif"):
        image.info.pop(key, None)
    # read again without them: a JPEG with EXIF and no JFIF marker (a camera's) had its EXIF read
    # as Pillow opened it (for its resolution), the XMP's orientation already taken in
    image._exif = None
    return ImageOps.exif_transpose(image)


def _decode_avif(data: np.ndarray) -> tuple[np.ndarray, np.ndarray | None] | None:
    """An AVIF file decoded by Pillow (libavif) and turned as its ``irot``/``imir`` boxes say, as
    viewers show it (OpenCV's decoder ignores them: a phone's portrait came out lying on its
    side), as (BGR uint8, alpha or None), transparent pixels on white; None where Pillow cannot."""
    try:
        with pillow().open(io.BytesIO(data.tobytes())) as image:
            rgba = np.asarray(upright(image).convert("RGBA"))
    except Exception:  # noqa: BLE001 - damaged, or a kind Pillow cannot read: OpenCV is tried
        return None
    colour = np.ascontiguousarray(rgba[..., 2::-1])
    alpha = np.ascontiguousarray(rgba[..., 3])
    if alpha.min() == 255:
        return colour, None
    return on_white(colour, alpha), alpha


def on_white(colour: np.ndarray, alpha: np.ndarray, premultiplied: bool = False, band: int = 256) -> np.ndarray:
    """``colour`` (BGR uint8; already multiplied by its alpha if ``premultiplied``) over white by
    ``alpha`` (uint8), in place, a band of rows at a time (a photo of tens of megapixels takes no
    more than a few megabytes beside it)."""
    for top in range(0, colour.shape[0], band):
        a = alpha[top : top + band, :, None].astype(np.uint16)
        rows = colour[top : top + band]
        if premultiplied:
            rows[:] = np.minimum(rows + (255 - a), 255)
        else:
            rows[:] = (rows * a + 255 * (255 - a) + 127) // 255
    return colour


def off_white(colour: np.ndarray, alpha: np.ndarray, band: int = 256) -> np.ndarray:
    """``on_white`` undone, in place: the colours of ``colour`` (BGR uint8, laid over white by
    ``alpha``) as they were before (a picture given its transparency back: its soft edges keep their
    own colour instead of a light fringe). Fully clear pixels are left as they are."""
    for top in range(0, colour.shape[0], band):
        a = alpha[top : top + band, :, None].astype(np.int32)
        rows = colour[top : top + band]
        straight = (rows.astype(np.int32) * 255 - 255 * (255 - a) + a // 2) // np.maximum(a, 1)
        rows[:] = np.where(a > 0, np.clip(straight, 0, 255), rows).astype(np.uint8)
    return colour


def _png_chunks(data: np.ndarray) -> Iterator[tuple[bytes, int, int, bool]]:
    """A whole PNG's chunks: (type, offset, length, whether its CRC matches), up to the end chunk."""
    view = memoryview(data)
    at = 8
    while at + 12 <= len(data):  # chunks: length (4 bytes, big-endian), type (4), data, CRC (4)
        length = int.from_bytes(view[at : at + 4], "big")
        end = at + 8 + length
        if end + 4 > len(data):
            return
        kind = bytes(view[at + 4 : at + 8])
        yield kind, at, length, zlib.crc32(view[at + 4 : end]) == int.from_bytes(view[end : end + 4], "big")
        if kind == b"IEND":
            return
        at = end + 4


def png_damage(data: np.ndarray) -> str:
    """'its IDAT chunk fails its checksum (damaged inside)': what is damaged inside a PNG whose
    picture cannot be trusted (a chunk of its picture, IHDR, PLTE or IDAT, fails its CRC); '' for
    any other file."""
    return sound_png(data)[1]


def sound_png(data: np.ndarray) -> tuple[np.ndarray, str]:
    """A file's bytes as libpng may be given them, and ``png_damage``'s account. Told here, before
    decoding, as libpng would write its own 'libpng error: IDAT: CRC error' line on stderr: a PNG's
    optional chunks (text, time, ...) that fail their checksum are left out, as libpng leaves them
    (with a 'libpng warning: tEXt: CRC error' line), and so is its colour profile (iCCP), which
    OpenCV does not apply (``embedded_profile`` reads it from the file) and libpng judges aloud
    ('libpng warning: iCCP: known incorrect sRGB profile', '... not permitted on grayscale PNG');
    an end chunk (IEND) that fails its checksum, no part of the picture, is given a sound one, and
    a truecolour PNG's suggested palette (PLTE) that fails it is left out;
    its text chunks (``PNG_TEXT``) are left out too;
    any other file's bytes are as they are."""
    if bytes(data[:8]) != _PNG_SIGNATURE:
        return data, ""
    keep, start = [], 0
    for kind, at, length, sound in _png_chunks(data):
        # an eXIf chunk that does not start as a TIFF does (some writers put JPEG's 'Exif\0\0' first)
        # libpng ignores, writing 'libpng warning: eXIf: invalid' twice: its orientation was applied
        # with alpha (read here) and not without; now neither, as libpng-based viewers show it
        bad_exif = kind == b"eXIf" and bytes(data[at + 8 : at + 12]) not in _TIFF_MAGIC
        if sound and kind != b"iCCP" and kind not in PNG_TEXT and not bad_exif:
            continue
        if not sound and kind == b"IEND":  # no part of the picture (libpng only warns): a sound one
            keep += [data[start:at], np.frombuffer(_PNG_END, np.uint8)]
            start = at + 12 + length
            continue
        # a critical chunk: the fifth bit of its first letter is clear; but a truecolour PNG's palette
        # is only a suggestion (libpng warns, and leaves it out as an optional chunk's)
        suggested = kind == b"PLTE" and len(data) > 25 and int(data[25]) in (2, 6)
        if not sound and not kind[0] & 0x20 and not suggested:
            return data, f"its {kind.decode('latin-1')} chunk fails its checksum (damaged inside)"
        keep.append(data[start:at])
        start = at + 12 + length
    return (np.concatenate([*keep, data[start:]]) if keep else data), ""


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\0\0\0\0IEND\xaeB`\x82"  # the end chunk, with its checksum
# A PNG's text chunks: no part of its picture, but libpng and Pillow judge them. An XMP packet of more
# than 8 MB (Photoshop's edit history grows one so, in an iTXt chunk) made OpenCV refuse the whole
# photo as 'not a readable image'; a longer tEXt, or a zTXt that unpacks past libpng's limit, wrote
# 'libpng warning: tEXt: out of memory' or '... zTXt: truncated' on stderr; and a zTXt or iTXt that
# unpacks past 1 MB (ImageMagick keeps a big XMP or EXIF so, as hex) made Pillow refuse to open the
# file, so its colour profile was not read and its colours not converted.
PNG_TEXT = (b"tEXt", b"zTXt", b"iTXt")


def png_without_text(data: np.ndarray) -> np.ndarray:
    """A PNG's bytes without its text chunks (``PNG_TEXT``); any other file's, or a PNG without
    any, as they are (not copied)."""
    if bytes(data[:8]) != _PNG_SIGNATURE:
        return data
    keep, start, at = [], 0, 8
    while at + 12 <= len(data):  # chunks: length (4 bytes, big-endian), type (4), data, CRC (4)
        end = at + 12 + int.from_bytes(bytes(data[at : at + 4]), "big")
        kind = bytes(data[at + 4 : at + 8])
        if kind == b"IEND" or end > len(data):
            break
        if kind in PNG_TEXT:
            keep.append(data[start:at])
            start = end
        at = end
    return np.concatenate([*keep, data[start:]]) if keep else data


def _png_chunk(data: np.ndarray, kind: bytes) -> bytes | None:
    """The data of a PNG's chunk ``kind`` found before its picture (IDAT), or None."""
    at = 8
    while at + 8 <= len(data):  # chunks: length (4 bytes, big-endian), type (4), data, CRC (4)
        length = int.from_bytes(bytes(data[at : at + 4]), "big")
        found = bytes(data[at + 4 : at + 8])
        if found == kind:
            return bytes(data[at + 8 : at + 8 + length])
        if found in (b"IDAT", b"IEND"):
            return None
        at += 12 + length
    return None


def _grey_key(data: np.ndarray) -> int | None:
    """The grey level a grey PNG makes clear with its tRNS chunk, as OpenCV decodes it (1-, 2- and
    4-bit grey scaled to 8 bits), else None."""
    if bytes(data[:4]) != b"\x89PNG" or len(data) < 26 or int(data[25]) != 0:
        return None
    depth = int(data[24])
    if depth not in (1, 2, 4, 8, 16):
        return None
    chunk = _png_chunk(data, b"tRNS")
    if chunk is None or len(chunk) != 2:
        return None
    key = int.from_bytes(chunk, "big")
    return key * 255 // (2**depth - 1) if depth < 8 else key


def _may_have_alpha(data: np.ndarray) -> bool:
    """Whether the file's bytes can hold an alpha channel; a PNG by its chunks before the picture
    (its colour type, or a transparency chunk), so a PNG without one is not decoded twice."""
    head = bytes(data[:4])
    if head not in _ALPHA_MAGIC:
        return False
    if head != b"\x89PNG":
        return True
    if len(data) > 25 and int(data[25]) in (4, 6):  # IHDR's colour type: grey + alpha, RGBA
        return True
    return _png_chunk(data, b"tRNS") is not None  # a palette's alpha, or one grey or RGB colour made clear


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8; 1 when none is found) of a PNG (eXIf chunk), WebP (EXIF chunk)
    or TIFF file's bytes."""
    if data[:4] in _TIFF_MAGIC:
        start = 0
    else:
        for marker, skip in ((b"eXIf", 4), (b"EXIF", 8)):
            at = data.find(marker)
            if at >= 0:
                start = at + skip
                if data[start : start + 6] == b"Exif\x00\x00":
                    start += 6
                break
        else:
            return 1
    value = tiff_tag(data, start, 0x0112)
    return value if value is not None and 1 <= value <= 8 else 1


# The eight EXIF orientations, in order (1: as stored ... 6: turn 90 degrees clockwise, 8: counter-clockwise).
_TURNS = (
    lambda x: x,
    lambda x: x[:, ::-1],
    lambda x: x[::-1, ::-1],
    lambda x: x[::-1],
    lambda x: np.swapaxes(x, 0, 1),
    lambda x: np.rot90(x, -1),
    lambda x: np.swapaxes(x, 0, 1)[::-1, ::-1],
    lambda x: np.rot90(x, 1),
)
