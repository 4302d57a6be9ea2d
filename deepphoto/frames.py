"""Frame conversions shared by every model: any image array in, what the networks expect out."""

from __future__ import annotations

import io
import mmap
import os
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepphoto.colour_profile import embedded_profile, pillow, to_srgb
from deepphoto.errors import DeepPhotoError, FrameError, FrameTypeError, not_a_file
from deepphoto.errors import warn as warn_user
from deepphoto.image_header import (
    TIFF_MAGIC,
    DamagedHeader,
    avif_premultiplied,
    avif_primary,
    image_size,
    is_avif,
    is_avif_sequence,
    is_dng,
    is_heic,
    jpeg_unread,
    png_chunk,
    tiff_main_header,
    tiff_pages,
    tiff_picture_cut_off,
    tiff_sample,
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


def read_image_alpha(
    path: Path, warn: Callable[[str], None] | None = None, painted: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """``read_image``'s picture, and the image's own alpha channel (uint8, upright) or None; a
    photo of more than ``MAX_PHOTO_PIXELS`` is refused by its header before it is decoded. What is
    worth a warning (a file cut off; a TIFF of several pages or an animated AVIF, of which only the
    first is read; with ``painted``, a photo to be painted and written, what its depth loses:
    ``depth_note``) goes to ``warn`` (a batch worker's report; None: stderr)."""

    def say(message: str) -> None:
        if warn is None:
            warn_user(message, path)
        else:
            warn(message)

    data = read_bytes(path)
    if is_dng(memoryview(data)):
        raise dng_error(path)
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
        if damage := png_damage(data) or ends_early(data):
            raise DeepPhotoError(f"{path}: not a readable image: {damage}")
        raise DeepPhotoError(f"{path}: not a readable image")
    h, w = decoded[0].shape[:2]
    if w * h > MAX_PHOTO_PIXELS:  # no header read here (a kind not known to it), or one that lied
        raise DeepPhotoError(f"{path}: {_too_large(w, h)}")
    if more := more_than_one(data):
        say(f"{more}: only the first is used")
    if painted and (note := depth_note(data)):
        say(note)
    return decoded


def depth_note(data: np.ndarray) -> str:
    """What a photo file of more than 8-bit SDR becomes in an 8-bit SDR output, in one line ('' for
    an 8-bit SDR photo), as ``run`` says it of a phone's HDR or 10-bit video: an HDR (PQ, HLG) or
    BT.2020 AVIF tone-mapped or gamut-mapped (``_decode_avif``); a 16-bit PNG or TIFF (a scanner's,
    a raw converter's), a 10-bit AVIF or a float TIFF painted and written with 8 bits a channel (the
    networks and the compositing work in 8 bits; its colours are converted at its depth first)."""
    head = bytes(data[: 1 << 16])
    if is_avif(memoryview(data)):
        at = head.find(b"pixi")  # bits a channel: version and flags, channels, then each one's bits
        bits, floating = (head[at + 9] if at >= 0 and len(head) > at + 9 else 8), False
    elif head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) > 24:
        bits, floating = head[24], False  # IHDR's bit depth
    elif head[:4] in TIFF_MAGIC:
        bits, floating = tiff_sample(memoryview(main_page(data)))
    else:
        return ""
    colour = avif_colour(data) if is_avif(memoryview(data)) else None
    depth = f"{bits}-bit {'float ' if floating else ''}" if bits > 8 else ""
    if colour is None:
        return f"a {depth}photo: painted and written with 8 bits a channel" if depth else ""
    from deepphoto.hdr import BT709, HLG, P3, PQ

    trc, primaries = colour
    if trc in (PQ, HLG):
        gamut = {BT709: "BT.709", P3: "Display P3"}.get(primaries, "BT.2020")
        kind, mapped = f"HDR ({gamut} {'PQ' if trc == PQ else 'HLG'})", "tone-mapped (its highlights compressed)"
    else:
        kind, mapped = "wide-gamut BT.2020", "its colours mapped into sRGB's"
    return f"a {depth}{kind} photo: painted and written as 8-bit SDR, {mapped}"


def more_than_one(data: np.ndarray) -> str:
    """'a TIFF of 3 pages', 'an animated AVIF of 12 frames': what a photo file holds besides the one
    picture a photo is read as (OpenCV and Pillow decode the first); '' for one picture. An animated
    GIF, WebP or PNG is not counted here: ``edit`` and ``batch`` say so themselves, and ``run``
    plays it."""
    head = bytes(data[:4])
    if head in TIFF_MAGIC:
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
    not read as one cut off. A TIFF's picture is the one ``decode_photo`` reads (``main_page``)."""
    jpeg = bytes(data[:3]) == b"\xff\xd8\xff" and not jpeg_unread(memoryview(data))
    if not (jpeg or png_is_cut(data) or _bmp_is_cut(data) or bytes(data[:4]) in TIFF_MAGIC):
        return None
    data = main_page(data)  # a TIFF's picture, not the thumbnail a camera puts first (whole: 'unreadable')
    from PIL import ImageFile

    with _CUT_JPEG_LOCK:  # Pillow's switch for cut files is process-wide
        before, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, True
        try:
            with pillow().open(io.BytesIO(data.tobytes())) as image:
                if bytes(data[:4]) in TIFF_MAGIC and not _tiff_is_cut(image, len(data)):
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


def ends_early(data: np.ndarray) -> str:
    """'the file ends early (cut off: 1,567 of 3,134 bytes); copy or download it again': what is
    said of an image that cannot be read and stops before its end (a WebP or AVIF, whose decoders
    read no part of one cut off; a GIF; a PNG, JPEG or BMP cut before its picture; a TIFF cut before
    its picture's directory, its thumbnail alone left: ``tiff_picture_cut_off``), by the length
    its header gives where it gives one; '' for any other. A copy cut off was 'not a readable
    image', as if its kind were not one DeepPhoto reads."""
    size, head = len(data), bytes(data[:16])
    expected = None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        expected = int.from_bytes(head[4:8], "little") + 8
    elif head[:2] == b"BM" and size >= 6:
        expected = int.from_bytes(head[2:6], "little")
    elif head[4:8] == b"ftyp":  # ISO base media (AVIF, HEIF): its top-level boxes end past the file
        at = 0
        while at + 8 <= size:
            box = int.from_bytes(bytes(data[at : at + 4]), "big")
            if box == 1 and at + 16 <= size:  # a 64-bit size follows
                box = int.from_bytes(bytes(data[at + 8 : at + 16]), "big")
            if box < 8:  # 0: to the end of the file
                break
            at += box
        expected = at if at > size else None
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        expected = None if bytes(data[-1:]) == b";" else -1  # no trailer
    elif head[:3] == b"\xff\xd8\xff":
        expected = None if bytes(data[-2:]) == b"\xff\xd9" else -1  # no end marker
    elif png_is_cut(data) or (head[:4] in TIFF_MAGIC and tiff_picture_cut_off(memoryview(data))):
        expected = -1
    if expected is None or 0 <= expected <= size:
        return ""
    cut = f": {size:,} of {expected:,} bytes" if expected > 0 else ""
    return f"the file ends early (cut off{cut}); copy or download it again"


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
    dng, found = is_dng(head), _size_or_none(head)
    if head[:4] in TIFF_MAGIC and len(head) == 1 << 16:  # its directories may lie anywhere in it
        dng, found = _tiff_facts(path, (dng, found))
    if dng:
        raise dng_error(path)
    if found is None or found[1] * found[2] == 0:  # a header that says no size: the decoder judges
        read_image_alpha(path, warn=lambda message: None)  # its reason, as a worker would give it
    elif found[1] * found[2] > MAX_PHOTO_PIXELS:
        raise DeepPhotoError(f"{path}: {_too_large(found[1], found[2])}")


def _size_or_none(data: bytes | memoryview) -> tuple[str, int, int] | None:
    """``image_size`` of ``data``; None where its header is damaged (the decoder says why)."""
    try:
        return image_size(data)
    except DamagedHeader:
        return None


def _tiff_facts(path: Path, head: tuple[bool, tuple[str, int, int] | None]) -> tuple[bool, tuple[str, int, int] | None]:
    """(whether a DNG, ``image_size``) of a TIFF file read through a memory map: libtiff (OpenCV,
    GIMP, a scanner) writes a TIFF's directory after its picture, and one read from the file's first
    64 KB alone had no size, so a batch decoded each such photo whole before Ray started (and a 16-bit
    one through its profile), and a thumbnail's directory first hid a picture too large behind it.
    ``head``: the same of its first bytes, given back where the file cannot be mapped."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as whole:
            view = memoryview(whole)
            try:
                return is_dng(view), _size_or_none(view)
            finally:
                view.release()
    except (OSError, ValueError):  # a file that cannot be mapped (a pipe, one emptied meanwhile)
        return head


def heic_error(path: Path | str) -> DeepPhotoError:
    """The one-line error for a HEIC photo (``image_header.is_heic``)."""
    return DeepPhotoError(
        f"{path}: a HEIC photo, which DeepPhoto does not read: save it as JPEG (on an iPhone, "
        "Settings > Camera > Formats > Most Compatible)"
    )


def dng_error(path: Path | str) -> DeepPhotoError:
    """The one-line error for a raw camera photo (``image_header.is_dng``)."""
    return DeepPhotoError(
        f"{path}: a raw camera photo (DNG), which DeepPhoto does not read (only its small preview could be): "
        "export it as JPEG, PNG or TIFF from your photo editor"
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


_EXIF_MAGIC = (b"II*\x00", b"MM\x00*")  # EXIF is a TIFF structure, little- or big-endian (never BigTIFF)
# The formats whose files can hold an alpha channel: PNG, WebP, GIF, TIFF (by their first bytes).
_ALPHA_MAGIC = (b"\x89PNG", b"RIFF", b"GIF8", *TIFF_MAGIC)


def decode_photo(data: np.ndarray, flags: int = PHOTO) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The image file's bytes ``data`` as (BGR uint8 upright as its EXIF orientation says, in sRGB
    where it embeds another colour profile, alpha uint8 or None), transparent pixels on white; None
    if they are not a readable image (a TIFF whose thumbnail alone was left of it, cut off, too: it
    was read as the photo, 32x24 pixels of a 128x96 one, without a word)."""
    if png_is_cut(data):  # decode_cut reads it
        return None
    if bytes(data[:4]) in TIFF_MAGIC and tiff_picture_cut_off(memoryview(data)):  # its thumbnail alone is left
        return None
    data = main_page(data)
    if jpeg_unread(memoryview(data)):  # refused (not read in false colours); its reader says why
        return None
    stored, damage = sound_png(data)
    decoded = None if damage else _decode_stored(stored, flags)
    if decoded is None:
        return None
    profile = embedded_profile(png_without_text(data))
    if profile is not None and is_avif(memoryview(data)) and avif_colour(data) is not None:
        profile = None  # its nclx box's HDR or BT.2020: already brought into sRGB (``_decode_avif``)
    if profile is None and is_linear_light(data):
        profile = linear_srgb()
    return in_srgb(decoded[0], profile), decoded[1]


# The first bytes of the float picture files OpenCV reads whose numbers are linear light by their
# format: Radiance HDR (RGBE), OpenEXR, Portable Float Map (colour, grey).
_LINEAR_MAGIC = (b"#?RADIANCE", b"#?RGBE", b"\x76\x2f\x31\x01", b"PF\n", b"Pf\n", b"PF\r\n", b"Pf\r\n")


def is_linear_light(data: np.ndarray) -> bool:
    """Whether the bytes start a high-dynamic-range picture of linear light (an HDR panorama, a
    render): read as if its numbers were sRGB's it came out far too dark (mid-grey 56 for 124)."""
    head = bytes(data[:10])
    return any(head.startswith(magic) for magic in _LINEAR_MAGIC)


def linear_srgb() -> bytes:
    """An ICC profile of sRGB's primaries in linear light (what an HDR or PFM file's numbers are)."""
    from deepphoto.colour_profile import png_chunk_profile

    profile = png_chunk_profile(1.0, None, False)
    assert profile is not None
    return profile


def main_page(data: np.ndarray) -> np.ndarray:
    """A TIFF's bytes with its header pointing at the directory of its picture
    (``tiff_main_page``) where a reduced-resolution copy comes first (a thumbnail, which decoders
    read as the picture: a scanner's 4000-pixel TIFF came out 160 pixels wide); any other file's
    bytes as they are."""
    head = tiff_main_header(memoryview(data))
    if head is None:
        return data
    data = data.copy()
    data[: len(head)] = np.frombuffer(head, np.uint8)
    return data


def in_srgb(image: np.ndarray, profile: bytes | None) -> np.ndarray:
    """A picture as decoded (grey or BGR; uint8, uint16 or float from 0 to 1) as BGR uint8 in sRGB,
    converted from its embedded ``profile`` (``to_srgb``) before it is cut to 8 bits: a 16-bit or
    float photo's shadows cut first came out banded where its profile's curve is steep."""
    if image.dtype != np.uint8 and profile and (converted := to_srgb(image, profile)) is not image:
        return converted
    return to_srgb(to_bgr8(image), profile)


def _decode_stored(data: np.ndarray, flags: int) -> tuple[np.ndarray, np.ndarray | None] | None:
    """``decode_photo``'s picture as the file stores its numbers (uint16 or float kept: ``in_srgb``
    cuts it to 8 bits). A file that can hold alpha is decoded once with it and turned here as
    OpenCV turns what it decodes without (it does not turn what it decodes with alpha); any other
    once with ``flags``."""
    if is_avif(data) and (avif := _decode_avif(data)) is not None:
        return avif
    if _may_have_alpha(data):
        raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if raw is not None and raw.ndim == 2 and (key := _grey_key(data)) is not None:
            # a grey PNG with one grey level made clear (tRNS), which OpenCV does not apply
            raw = np.dstack([raw, raw, raw, np.where(raw == key, 0, np.iinfo(raw.dtype).max).astype(raw.dtype)])
        if raw is not None and raw.ndim == 3 and raw.shape[2] == 4:
            tiff = bytes(data[:4]) in TIFF_MAGIC
            unturned = tiff or bytes(data[:4]) == b"GIF8"  # OpenCV turns a TIFF; a GIF has no EXIF
            turn = (lambda x: x) if unturned else _TURNS[exif_orientation(data.tobytes()) - 1]
            # libtiff gives 8-bit colour with alpha premultiplied (stored so, or made so): ExtraSamples 1 or 2;
            # 16-bit or float colour as stored: premultiplied where ExtraSamples is 1 (associated alpha)
            extra = tiff_tag(data.tobytes(), 0, 0x0152) if tiff else None
            premultiplied = extra in ((1, 2) if raw.dtype == np.uint8 else (1,))
            alpha = raw[..., 3]
            alpha = (alpha >> 8).astype(np.uint8) if alpha.dtype == np.uint16 else to_bgr8(alpha[..., None])[..., 0]
            colour = np.ascontiguousarray(turn(raw[..., :3]))
            if alpha.min() == 255:
                return colour, None
            alpha = np.ascontiguousarray(turn(alpha))
            weight = alpha if colour.dtype == np.uint8 else np.ascontiguousarray(turn(raw[..., 3]))  # at its depth
            return on_white(colour, weight, premultiplied), alpha
    image = cv2.imdecode(data, flags)
    return None if image is None else (image, None)


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
    side), as (BGR uint8, alpha or None), transparent pixels on white; None where Pillow cannot.
    An HDR (PQ, HLG) or BT.2020 one's colours as an SDR screen shows them, in sRGB: Pillow gives
    its 10 or 12 bits cut to 8 as they are, so a PQ photo came out grey and flat (its white at 58%)
    and an HLG one dark and dull. Decoded again by FFmpeg at its own depth and tone-mapped as a
    phone's HDR video is (``hdr.sdr_picture``), a grid's tiles put together; from Pillow's 8 bits
    where FFmpeg's picture is not the whole one."""
    try:
        with pillow().open(io.BytesIO(data.tobytes())) as image:
            stored = image.size
            rgba = np.asarray(upright(image).convert("RGBA"))
            orientation = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - damaged, or a kind Pillow cannot read: OpenCV is tried
        return None
    colour = np.ascontiguousarray(rgba[..., 2::-1])
    if (hdr := avif_colour(data)) is not None:
        from deepphoto.hdr import sdr_from_codes

        trc, primaries = hdr
        if (deep := _deep_avif(data, stored, trc, primaries)) is not None:
            colour = np.ascontiguousarray(_TURNS[orientation - 1 if 1 <= orientation <= 8 else 0](deep))
        else:
            colour = sdr_from_codes(np.ascontiguousarray(rgba[..., :3]), 255, trc, primaries, True)
    alpha = np.ascontiguousarray(rgba[..., 3])
    if alpha.min() == 255:
        return colour, None
    return on_white(colour, alpha), alpha


def avif_colour(data: np.ndarray | bytes) -> tuple[int, int] | None:
    """(its transfer, the primaries its colours are turned into BT.709's from: BT2020, P3 or BT709
    for none; FFmpeg's numbers) of an AVIF whose ``nclx`` colour box says HDR (PQ, HLG) or BT.2020
    (a phone's or an editor's HDR photo, 10 or 12 bits); None for any other (sRGB's, Display P3's
    SDR, an ICC profile's: Pillow reads those as they are). HDR's primaries are BT.2020's unless it
    says BT.709's or Display P3's."""
    from deepphoto.hdr import BT709, BT2020, HLG, P3, PQ

    head = bytes(data[: 1 << 16])
    at = head.find(b"colrnclx")
    if at < 0 or len(head) < at + 14:
        return None
    primaries, trc = int.from_bytes(head[at + 8 : at + 10], "big"), int.from_bytes(head[at + 10 : at + 12], "big")
    if trc not in (PQ, HLG) and primaries != BT2020:
        return None
    if trc in (PQ, HLG) and primaries in (BT709, P3):  # said so; any other HDR's are BT.2020's
        return trc, primaries
    return trc, BT2020


def _deep_avif(data: np.ndarray, size: tuple[int, int], trc: int, primaries: int) -> np.ndarray | None:
    """An HDR or BT.2020 AVIF decoded by FFmpeg at its own depth as SDR BGR uint8 in sRGB, as
    stored (not turned); a grid's tiles (a large photo's: FFmpeg gives each as a stream) put
    together; None where FFmpeg cannot, its picture is not the whole one (``size``), or its colour
    is stored multiplied by its alpha (FFmpeg's, laid on white as it is, was dark in a soft edge:
    150 for 218 at half transparency; Pillow's 8 bits are undone from it). FFmpeg
    gives an item as the stream of its ID: the primary one's is decoded, not the first (a
    thumbnail stored before it was taken, and the photo read from Pillow's 8 bits)."""
    import av

    from deepphoto.hdr import frame_codes, sdr_from_codes

    if avif_premultiplied(memoryview(data)):  # Pillow's colour is undone from its alpha, FFmpeg's not
        return None
    kind, items = avif_primary(memoryview(data)) or (b"", [])
    try:
        with av.open(io.BytesIO(data.tobytes())) as container:
            if kind == b"grid":
                if (grid := _avif_grid(container, items, size)) is None:
                    return None
                codes, white = grid
            else:
                primary = [s for s in container.streams.video if s.id in items] or container.streams.video[:1]
                if not primary:  # (no picture FFmpeg reads)
                    return None
                codes, white = frame_codes(next(container.decode(primary[0])))
    except (av.error.FFmpegError, StopIteration, ValueError, OSError):
        return None
    if (codes.shape[1], codes.shape[0]) != size:
        return None
    return sdr_from_codes(codes, white, trc, primaries, True)


def _avif_grid(container: Any, tiles: list[int], size: tuple[int, int]) -> tuple[np.ndarray, int] | None:
    """The R'G'B' codes (``hdr.frame_codes``) of a grid AVIF's whole picture (``size``), its tiles
    (item IDs, row by row: ``avif_primary``) decoded from FFmpeg's streams of them and put
    together; None where a tile is missing or they do not make a grid of that size. Taken from
    Pillow's 8 bits instead, an HDR photo's sky was banded (half its levels, steps of 4)."""
    from deepphoto.hdr import frame_codes

    streams = {stream.id: stream for stream in container.streams.video}
    if not all(tile in streams for tile in tiles):
        return None
    place = {tile: i for i, tile in enumerate(tiles)}
    whole, white, done = None, 0, set()
    for packet in container.demux([streams[tile] for tile in tiles]):
        for frame in packet.decode():
            if packet.stream.id in done:
                continue
            codes, code_white = frame_codes(frame)
            if whole is None:  # its size from the first tile: all are the same
                th, tw = codes.shape[:2]
                w, h = size
                columns, rows = -(-w // tw), -(-h // th)
                if columns * rows != len(tiles):
                    return None
                whole, white = np.empty((rows * th, columns * tw, 3), codes.dtype), code_white
            if codes.shape != (th, tw, 3) or codes.dtype != whole.dtype or code_white != white:
                return None
            y, x = divmod(place[packet.stream.id], columns)
            whole[y * th : (y + 1) * th, x * tw : (x + 1) * tw] = codes
            done.add(packet.stream.id)
    if whole is None or len(done) != len(tiles):
        return None
    return np.ascontiguousarray(whole[:h, :w]), white


def on_white(colour: np.ndarray, alpha: np.ndarray, premultiplied: bool = False, band: int = 256) -> np.ndarray:
    """``colour`` (BGR uint8; already multiplied by its alpha if ``premultiplied``) over white by
    ``alpha`` (uint8), in place, a band of rows at a time (a photo of tens of megapixels takes no
    more than a few megabytes beside it). A 16-bit or float (0 to 1) ``colour`` is kept at its
    depth, its ``alpha`` uint8 or of its own depth."""
    if colour.dtype != np.uint8:
        return _deep_on_white(colour, alpha, premultiplied, band)
    for top in range(0, colour.shape[0], band):
        a = alpha[top : top + band, :, None].astype(np.uint16)
        rows = colour[top : top + band]
        if premultiplied:
            rows[:] = np.minimum(rows + (255 - a), 255)
        else:
            rows[:] = (rows * a + 255 * (255 - a) + 127) // 255
    return colour


def _deep_on_white(colour: np.ndarray, alpha: np.ndarray, premultiplied: bool, band: int) -> np.ndarray:
    """``on_white`` of a 16-bit or float ``colour``. A 16-bit TIFF's associated alpha (ExtraSamples
    1, associated alpha, as renderers and some editors write it) came out as if its colours were not
    multiplied by it: a half-clear white edge grey (191 for 255), every soft edge darkened."""
    whole = colour.dtype.kind == "u"
    white = np.float32(65535 if whole else 1)
    scale = np.float32(1 / (255 if alpha.dtype == np.uint8 else 65535 if alpha.dtype.kind == "u" else 1))
    for top in range(0, colour.shape[0], band):
        a = np.clip(np.nan_to_num(alpha[top : top + band, :, None] * scale), 0, 1)  # a float's too
        rows = colour[top : top + band]
        mixed = (rows if premultiplied else rows * a) + white * (1 - a)
        rows[:] = np.minimum(mixed + np.float32(0.5), white) if whole else mixed
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
        bad_exif = kind == b"eXIf" and bytes(data[at + 8 : at + 12]) not in _EXIF_MAGIC
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


def _grey_key(data: np.ndarray) -> int | None:
    """The grey level a grey PNG makes clear with its tRNS chunk, as OpenCV decodes it (1-, 2- and
    4-bit grey scaled to 8 bits), else None."""
    if bytes(data[:4]) != b"\x89PNG" or len(data) < 26 or int(data[25]) != 0:
        return None
    depth = int(data[24])
    if depth not in (1, 2, 4, 8, 16):
        return None
    chunk = png_chunk(data, b"tRNS")
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
    return png_chunk(data, b"tRNS") is not None  # a palette's alpha, or one grey or RGB colour made clear


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8; 1 when none is found) of a PNG (eXIf chunk), WebP (EXIF chunk)
    or TIFF file's bytes."""
    if data[:4] in _EXIF_MAGIC:
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
