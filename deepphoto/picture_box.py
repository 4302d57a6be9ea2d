"""Bars round a picture: a clip padded to another shape (letterbox, pillarbox, a phone's 9:16 of a
landscape clip), found in a frame so that only the picture is segmented and painted and the bars
are left as they are (``picture_box``; ``PictureBoxes`` holds a stream's box from frame to frame)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

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
