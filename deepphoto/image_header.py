"""An image file's kind and size read from its first bytes, before anything is decoded.

A 50 KB PNG can claim 100,000 x 100,000 pixels (a decompression bomb): the web page refuses such an
upload, and ``edit`` and ``batch`` a photo larger than they paint, by this header, never by the
file's name. Kinds: JPEG, PNG, WebP, BMP, GIF, TIFF (BigTIFF too), AVIF, Radiance HDR, PFM.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

KINDS = ("JPEG", "PNG", "WebP", "BMP", "GIF", "TIFF")
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class DamagedHeader(ValueError):
    """The file starts as an image kind known here, but its header does not say its size."""

    def __init__(self, kind: str, why: str) -> None:
        super().__init__(f"damaged {kind}: {why}")
        self.kind = kind


BMP_HEADERS = (12, 40, 52, 56, 64, 108, 124)  # the DIB header sizes: "BM" alone starts many a text


def _be16(data: bytes, at: int) -> int:
    return struct.unpack_from(">H", data, at)[0]


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, offset, length) of each segment of a JPEG's header that has a length, in order (fill
    bytes and markers without a length skipped), until the data ends or is no marker."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        length = _be16(data, i + 2)
        yield marker, i, length
        i += 2 + length


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the first start-of-frame marker of a JPEG."""
    for marker, i, _ in _jpeg_segments(data):
        if marker in JPEG_SOF and i + 9 <= len(data):
            return _be16(data, i + 7), _be16(data, i + 5)
    raise DamagedHeader("JPEG", "no image size in its header")


JPEG_LOSSLESS = {0xC3, 0xC7, 0xCB, 0xCF}  # the start-of-frame markers of lossless JPEG
_ADOBE_RGB = 0  # an Adobe marker's colour transform: 0 none (RGB or CMYK), 1 YCbCr, 2 YCCK


def jpeg_unread(data: bytes) -> str:
    """'a 12-bit JPEG', 'a lossless JPEG in YCbCr colours': a JPEG that OpenCV and Pillow do not read
    as viewers show it, by its header ('' for any other file). A camera's or scanner's 12-bit JPEG
    (extended precision, or lossless past 8 bits) they refuse, which read as if the file were
    damaged; a lossless colour JPEG in YCbCr (as FFmpeg's ljpeg writes it) libjpeg-turbo gives
    without turning its YCbCr into RGB, and it came out in false colours (red as blue)."""
    if data[:3] != b"\xff\xd8\xff":
        return ""
    jfif, adobe = False, None
    for marker, i, length in _jpeg_segments(data):
        if marker == 0xE0 and data[i + 4 : i + 9] == b"JFIF\0":
            jfif = True
        elif marker == 0xEE and data[i + 4 : i + 9] == b"Adobe" and length >= 12 and i + 16 <= len(data):
            adobe = data[i + 15]
        elif marker in JPEG_SOF:
            if i + 10 > len(data):
                return ""
            bits, count = data[i + 4], data[i + 9]
            if bits != 8:
                return f"a {bits}-bit JPEG" if marker not in JPEG_LOSSLESS else f"a {bits}-bit lossless JPEG"
            ids = tuple(data[i + 10 : i + 10 + 3 * count : 3])
            # as libjpeg judges a 3-colour JPEG's colours: YCbCr unless marked RGB without a JFIF
            # marker (by an Adobe marker's transform 0, or else components named 'R', 'G', 'B')
            rgb = not jfif and (adobe == _ADOBE_RGB if adobe is not None else ids == (82, 71, 66))
            if marker in JPEG_LOSSLESS and count == 3 and not rgb:
                return "a lossless JPEG in YCbCr colours"
            return ""
    return ""


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack_from("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = struct.unpack_from("<I", data, 21)[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    raise DamagedHeader("WebP", "no image size in its header")


def _bmp_size(data: bytes) -> tuple[int, int]:
    if len(data) < 26:
        raise DamagedHeader("BMP", "header too short")
    header = struct.unpack_from("<I", data, 14)[0]
    if header not in BMP_HEADERS:
        raise DamagedHeader("BMP", f"no bitmap header of a known size ({header} bytes)")
    if header == 12:  # OS/2 bitmap
        w, h = struct.unpack_from("<HH", data, 18)
        return w, h
    w, h = struct.unpack_from("<ii", data, 18)
    return abs(w), abs(h)


# A TIFF file's first bytes (little- and big-endian), then a BigTIFF's (64-bit offsets: a scanner's or
# a microscope's picture past 4 GB, and libtiff writes one when told to).
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _tiff_head(data: bytes, start: int) -> tuple[str, bool, int] | None:
    """(byte order, whether BigTIFF, first directory's offset) of the TIFF structure at ``start``,
    or None where none starts there."""
    order = {b"II": "<", b"MM": ">"}.get(bytes(data[start : start + 2]))
    if order is None:
        return None
    (version,) = struct.unpack_from(order + "H", data, start + 2)
    if version == 42:
        return order, False, struct.unpack_from(order + "I", data, start + 4)[0]
    if version == 43 and struct.unpack_from(order + "HH", data, start + 4) == (8, 0):
        return order, True, struct.unpack_from(order + "Q", data, start + 8)[0]
    return None


_TIFF_VALUE = {3: "H", 4: "I", 16: "Q"}  # SHORT, LONG, LONG8 (BigTIFF)


def _tiff_entries(data: bytes, start: int, big: bool, order: str, ifd: int) -> Iterator[tuple[int, int, int, int]]:
    """The entries of the directory at ``ifd`` (from ``start``), the first 512 at most: (tag, type,
    count, where its value or the offset of its values lies); ``struct.error`` where it is cut short."""
    head, entry, form = (8, 20, "HHQ") if big else (2, 12, "HHI")
    (count,) = struct.unpack_from(order + ("Q" if big else "H"), data, start + ifd)
    for i in range(min(count, 512)):
        at = start + ifd + head + entry * i
        tag, kind, values = struct.unpack_from(order + form, data, at)
        yield tag, kind, values, at + entry - (8 if big else 4)


def _next_directory(data: bytes, big: bool, order: str, ifd: int) -> int:
    """The offset of the directory after the one at ``ifd`` (0: none); ``struct.error`` where cut."""
    (count,) = struct.unpack_from(order + ("Q" if big else "H"), data, ifd)
    at = ifd + (8 + 20 * count if big else 2 + 12 * count)
    return struct.unpack_from(order + ("Q" if big else "I"), data, at)[0]


def _first_entries(data: bytes, start: int) -> tuple[str, bool, Iterator[tuple[int, int, int, int]]] | None:
    """(byte order, whether BigTIFF, the entries of its first directory) of the TIFF at ``start``."""
    head = _tiff_head(data, start)
    if head is None:
        return None
    order, big, ifd = head
    return order, big, _tiff_entries(data, start, big, order, ifd)


def tiff_tag(data: bytes, start: int, tag: int) -> int | None:
    """The first value (a SHORT, LONG or LONG8) of ``tag`` in the first directory of the TIFF (or
    BigTIFF) structure at ``start`` in ``data`` (a TIFF file, or EXIF inside another format), or None."""
    try:
        found = _first_entries(data, start)
        if found is None:
            return None
        order, _, entries = found
        for number, kind, _, at in entries:
            if number == tag:
                return struct.unpack_from(order + _TIFF_VALUE.get(kind, "H"), data, at)[0]
    except struct.error:  # cut short: as if none
        return None
    return None


def tiff_sample(data: bytes | memoryview) -> tuple[int, bool]:
    """(bits a sample, whether floating point) of the picture of a TIFF file's first directory, by
    its BitsPerSample and SampleFormat; (8, False) where it does not say (TIFF's default is 1 bit,
    but a file that does not say is read as 8)."""
    bits, floating = 8, False
    try:
        found = _first_entries(data, 0)
        if found is None:
            return bits, floating
        order, big, entries = found
        for number, kind, count, at in entries:
            if number in (258, 339) and kind == 3 and count >= 1:  # SHORT values, in place or at an offset
                if count * 2 > (8 if big else 4):
                    (at,) = struct.unpack_from(order + ("Q" if big else "I"), data, at)
                (value,) = struct.unpack_from(order + "H", data, at)
                if number == 258:
                    bits = value
                else:
                    floating = value == 3
    except struct.error:  # cut short: as far as it was read
        pass
    return bits, floating


def tiff_data(data: bytes, tag: int) -> bytes | None:
    """The bytes of ``tag`` (a field of BYTE or UNDEFINED values: an ICC profile, 34675) in a TIFF
    (or BigTIFF) file's first directory, or None where it has none or the field runs past its end."""
    try:
        found = _first_entries(data, 0)
        if found is None:
            return None
        order, big, entries = found
        for number, kind, size, at in entries:
            if number == tag and kind in (1, 7):
                if size > (8 if big else 4):
                    (at,) = struct.unpack_from(order + ("Q" if big else "I"), data, at)
                return bytes(data[at : at + size]) if at + size <= len(data) else None
    except struct.error:  # cut short: as if none
        return None
    return None


_MAX_TIFF_PAGES = 10_000  # directories followed at most (a damaged chain is not read for ever)


def _directory_values(data: bytes, ifd: int, tags: set[int]) -> dict[int, int]:
    """The first values (SHORT, LONG or LONG8) of ``tags`` in a TIFF file's directory at ``ifd``;
    ``struct.error`` where it is cut short."""
    head = _tiff_head(data, 0)
    if head is None:
        return {}
    order, big, _ = head
    found: dict[int, int] = {}
    for tag, form, _, at in _tiff_entries(data, 0, big, order, ifd):
        if tag in tags and tag not in found:
            found[tag] = struct.unpack_from(order + _TIFF_VALUE.get(form, "H"), data, at)[0]
    return found


def _tiff_chain(data: bytes) -> Iterator[tuple[int, bool]]:
    """(offset, whether a whole picture) of each directory of a TIFF (or BigTIFF) file's chain, read
    whole, in order: a reduced-resolution copy (a camera's or scanner's thumbnail) or a transparency
    mask, which NewSubfileType (254) bits 0 and 2 mark, is no whole picture. A chain that loops or is
    cut short ends where it does (a directory cut off is not given); nothing for bytes that are no TIFF."""
    head = _tiff_head(data, 0)
    if head is None:
        return
    order, big, ifd = head
    seen: set[int] = set()
    while ifd and ifd not in seen and len(seen) < _MAX_TIFF_PAGES:
        seen.add(ifd)
        try:
            kind = _directory_values(data, ifd, {254}).get(254, 0)
            after = _next_directory(data, big, order, ifd)
        except struct.error:
            return
        yield ifd, not kind & 0b101
        ifd = after


def tiff_pages(data: bytes) -> int:
    """How many pages (whole pictures, ``_tiff_chain``) a TIFF (or BigTIFF) file holds; 0 for bytes
    that are no TIFF."""
    try:
        return sum(whole for _, whole in _tiff_chain(data))
    except struct.error:  # a header cut short
        return 0


def tiff_main_page(data: bytes) -> int | None:
    """The offset of the first directory of a TIFF's chain that holds a whole picture, not a
    reduced-resolution copy or a transparency mask (``_tiff_chain``): a scanner's or an old
    camera's TIFF may put a thumbnail first, which decoders read as the picture. None for bytes that
    are no TIFF, or a chain of copies alone (its first is read)."""
    try:
        return next((ifd for ifd, whole in _tiff_chain(data) if whole), None)
    except struct.error:  # a header cut short
        return None


def tiff_picture_cut_off(data: bytes) -> bool:
    """Whether a TIFF's chain of directories reaches the file's end (a directory past it, or cut
    short) before any whole picture: a reduced-resolution copy first, then the picture's directory
    lost with the end of the file (libtiff writes each directory after its picture), so that only
    the thumbnail is left, which decoders read as the photo."""
    try:
        head = _tiff_head(data, 0)
    except struct.error:  # a header cut short: not known to be a TIFF
        return False
    if head is None:
        return False
    order, big, ifd = head
    seen: set[int] = set()
    while ifd and ifd not in seen and len(seen) < _MAX_TIFF_PAGES:
        seen.add(ifd)
        if ifd >= len(data):
            return True
        try:
            kind = _directory_values(data, ifd, {254}).get(254, 0)
            after = _next_directory(data, big, order, ifd)
        except struct.error:
            return True
        if not kind & 0b101:  # a whole picture: read, cut or not (decode_cut)
            return False
        ifd = after
    return False


def tiff_main_header(data: bytes) -> bytes | None:
    """A TIFF's header (its first 8 bytes, a BigTIFF's 16) pointing at the directory of its picture
    (``tiff_main_page``) where a reduced-resolution copy comes first; None where its first directory
    is its picture, none is whole, or the bytes are no TIFF."""
    try:
        head = _tiff_head(data, 0)
    except struct.error:
        return None
    main = tiff_main_page(data)
    if head is None or main is None or main == head[2]:
        return None
    order, big, _ = head
    return bytes(data[:8]) + struct.pack(order + "Q", main) if big else bytes(data[:4]) + struct.pack(order + "I", main)


def _tiff_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the ImageWidth (256) and ImageLength (257) tags of the directory of its
    picture (``tiff_main_page``; the first where it finds none)."""
    main = tiff_main_page(data)
    if main is None:
        width, height = tiff_tag(data, 0, 256), tiff_tag(data, 0, 257)
    else:
        try:
            found = _directory_values(data, main, {256, 257})
        except struct.error:
            found = {}
        width, height = found.get(256), found.get(257)
    if width is None or height is None:
        raise DamagedHeader("TIFF", "no image size in its first directory")
    return width, height


# PhotometricInterpretation (262) of a raw camera picture: a colour filter array, or linear raw
RAW_PHOTOMETRIC = (32803, 34892)


def is_dng(data: bytes | memoryview) -> bool:
    """Whether the bytes start a DNG (a raw camera photo), which DeepPhoto does not read: a TIFF
    whose first directory has a DNGVersion tag (50706) and is a small preview (decoders read it: a
    phone's raw photo came out 256 pixels wide, painted without a word) with the raw picture in a
    SubIFD (330) or none whole in its chain, or is the raw picture itself (a colour filter array). A
    TIFF photo whose first directory is its whole picture in RGB or grey is none, DNGVersion or not:
    a raw converter's export that copied the raw file's tags was refused as a DNG, and told to be
    exported as TIFF, which it was."""
    if bytes(data[:4]) not in TIFF_MAGIC or tiff_tag(data, 0, 50706) is None:
        return False
    if tiff_tag(data, 0, 262) in RAW_PHOTOMETRIC or tiff_tag(data, 0, 330) is not None:
        return True
    main = tiff_main_page(data)
    try:
        return main is None or _directory_values(data, main, {262}).get(262) in RAW_PHOTOMETRIC
    except struct.error:
        return True


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(kind, width, height) read from the file's first bytes; None when it is no kind known here;
    ``DamagedHeader`` when it is one but its header is cut short or says no size."""
    if data[:3] == b"\xff\xd8\xff":
        return ("JPEG", *_jpeg_size(data))
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise DamagedHeader("PNG", "no IHDR header")
        w, h = struct.unpack_from(">II", data, 16)
        return "PNG", w, h
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ("WebP", *_webp_size(data))
    if data[:2] == b"BM" and len(data) >= 18 and struct.unpack_from("<I", data, 14)[0] in BMP_HEADERS:
        return ("BMP", *_bmp_size(data))
    if data[:6] in (b"GIF87a", b"GIF89a"):
        if len(data) < 10:
            raise DamagedHeader("GIF", "header too short")
        w, h = struct.unpack_from("<HH", data, 6)  # the logical screen
        return "GIF", w, h
    if data[:4] in TIFF_MAGIC:
        return ("TIFF", *_tiff_size(data))
    if is_avif(data):
        return ("AVIF", *_avif_size(data))
    if bytes(data[:6]) == b"#?RGBE" or bytes(data[:10]) == b"#?RADIANCE":
        return ("HDR", *_radiance_size(data))
    if bytes(data[:2]) in (b"PF", b"Pf") and bytes(data[2:3]).isspace():
        return ("PFM", *_pfm_size(data))
    return None


_TEXT_HEADER = 1 << 16  # a Radiance HDR's header (its comments, a program's lines) is looked for in this many bytes


def _radiance_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a Radiance HDR's resolution line ('-Y 4096 +X 8192'), which follows the
    empty line that ends its header: an HDR panorama of 24576x12288 (302 megapixels, 3.6 GB as
    floats) was decoded whole before it was refused, and a batch decoded every HDR before Ray started."""
    head = bytes(data[:_TEXT_HEADER])
    end = head.find(b"\n\n")
    line = head[end + 2 :].split(b"\n", 1)[0].split() if end >= 0 else []
    if len(line) < 4 or any(a[-1:] not in b"XY" or a[:1] not in b"+-" for a in line[:3:2]):
        raise DamagedHeader("HDR", "no resolution line after its header")
    try:
        sides = {line[0][-1:]: int(line[1]), line[2][-1:]: int(line[3])}
    except ValueError:
        raise DamagedHeader("HDR", "no resolution line after its header") from None
    if set(sides) != {b"X", b"Y"}:
        raise DamagedHeader("HDR", "no resolution line after its header")
    return sides[b"X"], sides[b"Y"]


def _pfm_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a Portable Float Map's header ('PF', width, height, scale)."""
    words = bytes(data[:256]).split(maxsplit=3)
    try:
        return int(words[1]), int(words[2])
    except (IndexError, ValueError):
        raise DamagedHeader("PFM", "no size in its header") from None


# ISO base media brands of an AVIF still or sequence (the major brand, or one listed as compatible)
AVIF_BRANDS = (b"avif", b"avis")
_AVIF_SCAN = 4 << 20  # the item properties are looked for in this many first bytes


def is_avif(data: bytes | memoryview) -> bool:
    """Whether the bytes start an AVIF image (its ``ftyp`` box names an AVIF brand)."""
    if len(data) < 16 or bytes(data[4:8]) != b"ftyp":
        return False
    size = min(struct.unpack_from(">I", data, 0)[0], len(data), 256)
    brands = bytes(data[8:12]) + bytes(data[16:size])  # the major brand, then the compatible ones
    return any(brands[i : i + 4] in AVIF_BRANDS for i in range(0, len(brands) - 3, 4))


HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")  # HEIF with HEVC


def is_heic(data: bytes | memoryview) -> bool:
    """Whether the bytes start a HEIC photo (HEIF coded in HEVC, as iPhones save), which DeepPhoto
    does not read: FFmpeg opens one as a video of its 512-pixel tiles, one stream each, so read as
    a video it would be its first tile only."""
    return len(data) >= 12 and bytes(data[4:8]) == b"ftyp" and bytes(data[8:12]) in HEIC_BRANDS and not is_avif(data)


def is_avif_sequence(data: bytes | memoryview) -> bool:
    """Whether the bytes start an AVIF image sequence (an animation: the ``avis`` brand)."""
    if not is_avif(data):
        return False
    size = min(struct.unpack_from(">I", data, 0)[0], len(data), 256)
    brands = bytes(data[8:12]) + bytes(data[16:size])
    return any(brands[i : i + 4] == b"avis" for i in range(0, len(brands) - 3, 4))


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The ISO base media boxes between ``start`` and ``end``: (type, payload start, box end)."""
    found = []
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        head = 8
        if size == 1 and at + 16 <= end:  # a 64-bit size follows
            size, head = struct.unpack_from(">Q", data, at + 8)[0], 16
        elif size == 0:  # to the end
            size = end - at
        if size < head or at + size > end:
            break
        found.append((kind, at + head, at + size))
        at += size
    return found


_FULL_BOXES = (b"meta",)  # boxes whose payload starts with a version and flags (4 bytes)


def _nested(data: bytes, start: int, end: int, path: tuple[bytes, ...]) -> list[tuple[int, int]]:
    """(payload start, end) of every box reached by ``path`` (box types, outermost first) from the
    boxes between ``start`` and ``end``."""
    kind, rest = path[0], path[1:]
    found = []
    for box, payload, stop in _boxes(data, start, end):
        if box == kind:
            payload += 4 if box in _FULL_BOXES else 0
            found += _nested(data, payload, stop, rest) if rest else [(payload, stop)]
    return found


def _avif_size(data: bytes | memoryview) -> tuple[int, int]:
    """The largest image spatial extent (``ispe``, in meta > iprp > ipco) the file declares: the
    primary image's, or a grid's whole (tiles and thumbnails are smaller), as stored (before
    ``irot`` turns it)."""
    head = bytes(data[:_AVIF_SCAN])
    sizes = [
        struct.unpack_from(">II", head, start + 4)  # after the ispe box's version and flags
        for start, end in _nested(head, 0, len(head), (b"meta", b"iprp", b"ipco", b"ispe"))
        if end - start >= 12
    ]
    if not sizes:
        raise DamagedHeader("AVIF", "no image size (ispe) in its header")
    return max(sizes, key=lambda wh: wh[0] * wh[1])


def avif_primary(data: bytes | memoryview) -> tuple[bytes, list[int]] | None:
    """An AVIF's primary image (``pitm``, ``iinf``, ``iref`` in its ``meta``) as (its item type, the
    IDs of the items that hold its picture): (b"grid", its tiles, ``dimg`` in their order, row by
    row) for a grid (a large photo, as a camera or an encoder stores one past AV1's largest frame),
    (b"av01", [its own]) for a coded one; None where it does not say (cut short, damaged)."""
    head = bytes(data[:_AVIF_SCAN])
    try:
        (meta, end), *_ = _nested(head, 0, len(head), (b"meta",))
        boxes = {kind: (start, stop) for kind, start, stop in _boxes(head, meta, end)}
        start, _ = boxes[b"pitm"]
        version = head[start]
        primary = struct.unpack_from(">H" if version == 0 else ">I", head, start + 4)[0]
        start, stop = boxes[b"iinf"]
        count_at = start + 4
        count = struct.unpack_from(">H" if head[start] == 0 else ">I", head, count_at)[0]
        entries = _boxes(head, count_at + (2 if head[start] == 0 else 4), stop)
        kinds = {}
        for kind, at, _ in entries[:count]:
            if kind == b"infe" and head[at] >= 2:
                wide = head[at] >= 3  # version 3: 32-bit item IDs
                item = struct.unpack_from(">I" if wide else ">H", head, at + 4)[0]
                kinds[item] = head[at + (10 if wide else 8) : at + (14 if wide else 12)]
        if kinds.get(primary) != b"grid":
            return kinds.get(primary, b""), [primary]
        start, stop = boxes[b"iref"]
        size = 2 if head[start] == 0 else 4
        code = ">H" if size == 2 else ">I"
        for kind, at, _ in _boxes(head, start + 4, stop):
            if kind == b"dimg" and struct.unpack_from(code, head, at)[0] == primary:
                (n,) = struct.unpack_from(">H", head, at + size)
                return b"grid", [struct.unpack_from(code, head, at + size + 2 + i * size)[0] for i in range(n)]
    except (KeyError, ValueError, IndexError, struct.error):  # a box missing, or cut short
        return None
    return None


def avif_premultiplied(data: bytes | memoryview) -> bool:
    """Whether an AVIF's colour is stored multiplied by its alpha (a ``prem`` reference in its
    ``meta`` > ``iref``: an encoder's --premultiply), which its decoders do not undo."""
    head = bytes(data[:_AVIF_SCAN])
    for start, end in _nested(head, 0, len(head), (b"meta", b"iref")):
        if any(kind == b"prem" for kind, _, _ in _boxes(head, start + 4, end)):  # after its version and flags
            return True
    return False


def png_chunk(data: np.ndarray | bytes | memoryview, kind: bytes) -> bytes | None:
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
