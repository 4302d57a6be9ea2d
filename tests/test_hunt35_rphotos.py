"""Photos of more than 8-bit SDR reviewed as a demanding user takes them, hunt 35 (rphotos): AVIF
photos tagged by their nclx box with a transfer or primaries the HDR photo reader of hunt 35
(``frames._decode_avif``, ``hdr``) read wrong. Each is compared with the sRGB picture it was made
from."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest

from deepphoto.frames import read_image_alpha
from tests.test_hunt35_hdrphotos import srgb_picture

LINEAR = 8
SRGB_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])


def linear_light(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (sRGB uint8) as linear light, 0-1."""
    v = rgb.astype(np.float64) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def tagged_avif(path: Path, signal: np.ndarray, primaries: int, trc: int, space: int) -> Path:
    """R'G'B' ``signal`` (0-1) as a 10-bit AVIF whose nclx box says ``primaries``, ``trc`` and the
    matrix ``space`` (FFmpeg's numbers), as an editor or a raw converter exports one."""
    if "libsvtav1" not in av.codecs_available or "avif" not in av.formats_available:
        pytest.skip("this PyAV has no SVT-AV1 encoder or AVIF muxer to make a 10-bit AVIF with")
    h, w = signal.shape[:2]
    codes = np.round(np.clip(signal, 0, 1) * 65535).astype(np.uint16)
    matrix = "BT2020" if space == 9 else "ITU709"
    frame = av.VideoFrame.from_ndarray(codes, format="rgb48le").reformat(
        format="yuv420p10le", dst_colorspace=matrix, dst_color_range="MPEG"
    )
    frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = space, primaries, trc, 1
    with av.open(str(path), "w", format="avif") as out:
        v = out.add_stream("libsvtav1", rate=1, options={"crf": "10"})
        v.width, v.height, v.pix_fmt = w, h, "yuv420p10le"
        cc = v.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = space, primaries, trc, 1
        for packet in [*v.encode(frame), *v.encode()]:
            out.mux(packet)
    assert b"colrnclx" + bytes([0, primaries, 0, trc]) in path.read_bytes()[:4096]
    return path


def test_a_linear_light_bt2020_avif_is_not_read_dark(tmp_path: Path) -> None:
    # a raw converter's 'linear Rec2020' export (darktable's working space): nclx 9/8/9
    rgb = srgb_picture()
    signal = np.clip(linear_light(rgb) @ SRGB_TO_BT2020.T, 0, 1) ** (1 / 2.2)  # (finer shadows in 10 bits)
    path = tagged_avif(tmp_path / "linear.avif", signal**2.2, 9, LINEAR, 9)
    read = read_image_alpha(path, warn=lambda _message: None)[0][..., ::-1].astype(int)
    h, w = rgb.shape[:2]
    mid = read[h // 4, w // 2 - 4 : w // 2 + 4].mean()
    # before: its linear codes taken through BT.1886's 2.4, mid-grey 45 for 129, red 108/0/0 for 200/30/30
    assert abs(mid - rgb[h // 4, w // 2 - 4 : w // 2 + 4].mean()) < 8, mid
    red = read[h // 2 + 4 :, 4 : w // 4 - 4].reshape(-1, 3).mean(0)
    assert np.abs(red - (200, 30, 30)).max() < 12, red


SRGB_TO_P3 = np.array([[0.8225, 0.1774, 0.0], [0.0332, 0.9669, 0.0], [0.0171, 0.0724, 0.9108]])
PQ = 16


def pq_signal(light: np.ndarray) -> np.ndarray:
    """Linear light (1: SDR's white, placed at 203 cd/m2 as BT.2408 does) as PQ's signal, 0-1."""
    m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
    y = (np.clip(light, 0, None) * 203 / 10000) ** m1
    return ((c1 + c2 * y) / (1 + c3 * y)) ** m2


def test_a_display_p3_hdr_avif_is_not_read_as_bt2020(tmp_path: Path) -> None:
    # an HDR photo in Display P3 (nclx 12/16/1: a raw converter's 'PQ P3' export)
    rgb = srgb_picture()
    path = tagged_avif(tmp_path / "p3.avif", pq_signal(linear_light(rgb) @ SRGB_TO_P3.T), 12, PQ, 1)
    said: list[str] = []
    read = read_image_alpha(path, warn=said.append, painted=True)[0][..., ::-1].astype(int)
    h, w = rgb.shape[:2]
    # before: its colours turned from BT.2020's primaries, a red 200/30/30 read as 227/0/32, skin
    # 220/170/140 as 235/164/138, and said to be 'HDR (BT.2020 PQ)'
    colours = read[h // 2 + 4 :].reshape(-1, 4, w // 4, 3)[:, :, 4:-4].mean((0, 2))
    assert np.abs(colours - rgb[-1].reshape(4, w // 4, 3)[:, 0]).max() < 8, colours
    assert said == [
        "a 10-bit HDR (Display P3 PQ) photo: painted and written as 8-bit SDR, tone-mapped (its highlights compressed)"
    ]


def _box(kind: bytes, payload: bytes, full: int | None = None) -> bytes:
    """An ISO base media box (``full``: a full box of that version, flags 0)."""
    head = b"" if full is None else bytes([full, 0, 0, 0])
    return struct.pack(">I4s", 8 + len(head) + len(payload), kind) + head + payload


def av1_item(path: Path, signal: np.ndarray, trc: int) -> tuple[bytes, bytes]:
    """(its av1C box, its AV1 data) of ``signal`` (BT.2020 R'G'B' 0-1) coded as ``tagged_avif``
    does, to be an item of a file written here."""
    data = tagged_avif(path, signal, 9, trc, 9).read_bytes()
    at = data.find(b"av1C")
    config = data[at - 4 : at - 4 + struct.unpack_from(">I", data, at - 4)[0]]
    at = data.find(b"mdat")
    return config, data[at + 4 : at - 4 + struct.unpack_from(">I", data, at - 4)[0]]


def heif_file(
    path: Path,
    items: list[tuple[bytes, bytes]],
    properties: list[bytes],
    associations: list[list[int]],
    primary: int,
    reference: bytes,
) -> Path:
    """An AVIF of ``items`` ((item type, data); item IDs from 1), its ``properties`` associated as
    ``associations`` say (1-based, 0x80 essential), its ``primary`` item and one ``iref`` box."""
    infe = b"".join(_box(b"infe", struct.pack(">HH4sx", i + 1, 0, kind), 2) for i, (kind, _) in enumerate(items))
    ipma = struct.pack(">I", len(items)) + b"".join(
        struct.pack(">HB", i + 1, len(a)) + bytes(a) for i, a in enumerate(associations)
    )

    def meta(first: int) -> bytes:
        offsets, at = [], first
        for _, data in items:
            offsets.append(at)
            at += len(data)
        iloc = bytes([0x44, 0x00]) + struct.pack(">H", len(items))
        iloc += b"".join(struct.pack(">HHHII", i + 1, 0, 1, offsets[i], len(d)) for i, (_, d) in enumerate(items))
        return _box(
            b"meta",
            _box(b"hdlr", b"\0\0\0\0pict" + bytes(13), 0)
            + _box(b"pitm", struct.pack(">H", primary), 0)
            + _box(b"iloc", iloc, 0)
            + _box(b"iinf", struct.pack(">H", len(items)) + infe, 0)
            + _box(b"iref", reference, 0)
            + _box(b"iprp", _box(b"ipco", b"".join(properties)) + _box(b"ipma", ipma, 0)),
            0,
        )

    ftyp = _box(b"ftyp", b"avif" + bytes(4) + b"avifmif1miafMA1A")
    start = len(ftyp) + len(meta(0)) + 8  # the mdat's payload
    path.write_bytes(ftyp + meta(start) + _box(b"mdat", b"".join(data for _, data in items)))
    return path


def hdr_properties(trc: int, *sizes: tuple[int, int]) -> list[bytes]:
    """ispe of each of ``sizes`` (properties 1...), then pixi (10-bit) and the nclx colour box."""
    ispe = [_box(b"ispe", struct.pack(">II", w, h), 0) for w, h in sizes]
    return [
        *ispe,
        _box(b"pixi", bytes([3, 10, 10, 10]), 0),
        _box(b"colr", b"nclx" + struct.pack(">HHHB", 9, trc, 9, 0)),
    ]


def grid_avif(path: Path, signal: np.ndarray, rows: int, columns: int, trc: int) -> Path:
    """``signal`` (BT.2020 R'G'B' 0-1) as a 10-bit AVIF stored as a grid of ``rows`` x ``columns``
    tiles (as a camera or an encoder stores a large photo: an AV1 frame holds at most 35
    megapixels)."""
    h, w = signal.shape[:2]
    th, tw = h // rows, w // columns
    tiles = []
    for i in range(rows * columns):
        y, x = divmod(i, columns)
        tiles.append(
            av1_item(path.with_suffix(f".{i}.avif"), signal[y * th : (y + 1) * th, x * tw : (x + 1) * tw], trc)
        )
    grid = bytes([0, 0, rows - 1, columns - 1]) + struct.pack(">HH", w, h)
    items = [(b"grid", grid)] + [(b"av01", data) for _, data in tiles]  # item 1: the grid, 2...: its tiles
    properties = [*hdr_properties(trc, (w, h), (tw, th)), tiles[0][0]]  # ispe, ispe, pixi, colr, av1C
    associations = [[1, 3, 4]] + [[2, 0x85, 3, 4]] * len(tiles)
    tile_ids = b"".join(struct.pack(">H", i + 2) for i in range(len(tiles)))
    reference = _box(b"dimg", struct.pack(">HH", 1, len(tiles)) + tile_ids)
    return heif_file(path, items, properties, associations, 1, reference)


def test_a_grid_hdr_avif_is_tone_mapped_from_its_10_bits_not_banded(tmp_path: Path) -> None:
    # a smooth grey ramp (a sky) in a 10-bit PQ photo stored as 2 x 2 tiles
    h, w = 128, 256  # (a grid's tiles are at least 64 x 64)
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:] = np.linspace(40, 200, w).round().astype(np.uint8)[None, :, None]
    signal = pq_signal(linear_light(rgb) @ SRGB_TO_BT2020.T)
    path = grid_avif(tmp_path / "grid.avif", signal, 2, 2, PQ)
    whole = tagged_avif(tmp_path / "whole.avif", signal, 9, PQ, 9)  # the same photo in one piece
    read = read_image_alpha(path, warn=lambda _message: None)[0].astype(int)
    assert read.shape == (h, w, 3)
    one = read_image_alpha(whole, warn=lambda _message: None)[0].astype(int)
    # before: the grid (which FFmpeg gives tile by tile) tone-mapped from Pillow's 8-bit codes, the
    # ramp in 64 levels (steps of up to 6) where the whole one has 161
    ramp = read[h // 4, :, 1]
    assert len(np.unique(ramp)) >= len(np.unique(one[h // 4, :, 1])) - 8, (
        np.unique(ramp),
        np.unique(one[h // 4, :, 1]),
    )
    assert np.abs(read - one).mean() < 1.5


def test_an_hdr_photo_is_tone_mapped_without_whole_size_float_copies() -> None:
    import tracemalloc

    from deepphoto.hdr import BT2020, HLG, sdr_from_codes

    codes = np.random.default_rng(0).integers(0, 65535, (3000, 2000, 3), dtype=np.uint16)  # 6 megapixels
    for trc in (PQ, HLG):
        sdr_from_codes(codes[:8], 65535, trc, BT2020, True)  # its tables made
        tracemalloc.start()
        try:
            out = sdr_from_codes(codes, 65535, trc, BT2020, True)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert out.shape == codes.shape and out.dtype == np.uint8
        # before: float32 copies of the whole picture, 204 MB (PQ) and 228 MB (HLG) for these 36 MB
        # of codes (a 48-megapixel photo: 2.7 GB and 8.5 s to read; now 1.8 GB and 4.6 s)
        assert peak < 2 * codes.nbytes, (trc, peak)


def test_a_folder_of_16_bit_photos_is_counted_in_words_that_hold(tmp_path: Path, capsys) -> None:
    import cv2

    from deepphoto.stream.sources import ImageFiles

    paths = []
    for i in range(3):  # a scanner's folder of 16-bit PNGs, played by 'deepphoto run folder/ out.mp4'
        paths.append(tmp_path / f"scan{i}.png")
        cv2.imwrite(str(paths[-1]), srgb_picture()[..., ::-1].astype(np.uint16) * 257)
    assert len(list(ImageFiles(paths))) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith("scan0.png: a 16-bit photo: painted and written with 8 bits a channel")
    # before: '2 more images: a N-bit photo: painted and written with N bits a channel' (the output
    # has 8 bits a channel, whatever the photos had)
    assert err[1:] == ["deepphoto: warning: 2 more images: a N-bit photo: painted and written with 8 bits a channel"]


def test_an_hdr_avif_with_its_thumbnail_first_is_tone_mapped_from_its_10_bits(tmp_path: Path) -> None:
    # a 10-bit PQ photo whose file holds a half-size thumbnail (item 1) before the photo (item 2)
    h, w = 128, 256
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:] = np.linspace(40, 200, w).round().astype(np.uint8)[None, :, None]
    signal = pq_signal(linear_light(rgb) @ SRGB_TO_BT2020.T)
    thumb = av1_item(tmp_path / "thumb.avif", signal[::2, ::2], PQ)
    photo = av1_item(tmp_path / "photo.avif", signal, PQ)
    properties = [*hdr_properties(PQ, (w // 2, h // 2), (w, h)), thumb[0], photo[0]]  # ispe, ispe, pixi, colr, av1C x2
    items = [(b"av01", thumb[1]), (b"av01", photo[1])]
    reference = _box(b"thmb", struct.pack(">HHH", 1, 1, 2))
    path = heif_file(tmp_path / "with-thumb.avif", items, properties, [[1, 0x85, 3, 4], [2, 0x86, 3, 4]], 2, reference)
    read = read_image_alpha(path, warn=lambda _message: None)[0].astype(int)
    assert read.shape == (h, w, 3)
    one = read_image_alpha(tmp_path / "photo.avif", warn=lambda _message: None)[0].astype(int)  # the photo alone
    # before: FFmpeg's first stream, the thumbnail, was not the photo's size, so the photo was
    # tone-mapped from Pillow's 8-bit codes: the ramp in 64 levels, where the photo alone has 161
    ramp = read[h // 4, :, 1]
    assert len(np.unique(ramp)) >= len(np.unique(one[h // 4, :, 1])) - 8, (
        np.unique(ramp),
        np.unique(one[h // 4, :, 1]),
    )
    assert np.abs(read - one).mean() < 1.5


def test_a_premultiplied_hdr_avif_is_not_dark_in_its_soft_edges(tmp_path: Path) -> None:
    # a 10-bit PQ photo with an alpha plane, its colour stored multiplied by its alpha (avifenc
    # --premultiply): grey 180 opaque on the left, half transparent on the right
    h, w = 64, 128
    rgb = np.full((h, w, 3), 180, np.uint8)
    alpha = np.ones((h, w))
    alpha[:, w // 2 :] = 0.5
    signal = pq_signal(linear_light(rgb) @ SRGB_TO_BT2020.T)
    colour = av1_item(tmp_path / "colour.avif", signal * alpha[..., None], PQ)
    mask = av1_item(tmp_path / "alpha.avif", np.repeat(alpha[..., None], 3, 2), PQ)
    aux = _box(b"auxC", b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha\0", 0)
    properties = [*hdr_properties(PQ, (w, h)), colour[0], mask[0], aux]  # ispe, pixi, colr, av1C x2, auxC
    reference = _box(b"auxl", struct.pack(">HHH", 2, 1, 1)) + _box(b"prem", struct.pack(">HHH", 1, 1, 2))
    items = [(b"av01", colour[1]), (b"av01", mask[1])]
    path = heif_file(tmp_path / "soft.avif", items, properties, [[1, 2, 3, 0x84], [1, 0x85, 0x86]], 1, reference)
    image, read_alpha = read_image_alpha(path, warn=lambda _message: None)
    assert read_alpha is not None and abs(int(read_alpha[:, -8:].mean()) - 128) <= 3
    opaque = image[:, 8 : w // 2 - 8].mean()
    soft = image[:, w // 2 + 8 : -8].mean()  # on white
    # before: its colour taken as FFmpeg gives it (multiplied by its alpha), laid on white as if it
    # were not: 150 where half of 181 and half of white is 218
    assert abs(opaque - 180) < 8, opaque
    assert abs(soft - (opaque + 255) / 2) < 8, (soft, opaque)
