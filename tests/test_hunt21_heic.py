"""A HEIC photo (an iPhone's, HEIF coded in HEVC in 512-pixel tiles) given to ``run`` or ``batch``.

FFmpeg reads HEIF: it opens one as a video with a stream for each tile, so ``run IMG.HEIC out.png``
painted the first tile only and said nothing, ``batch IMG.HEIC`` made a one-frame video of it, and a
folder of iPhone photos lost its HEICs without a word; ``edit`` refuses it with one line. Now all
three say the same line."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, refused, write_png

from deepphoto.batch.inputs import expand_inputs, kind_of
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import read_image_alpha

TILE = 64


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, payload: bytes) -> bytes:
    return _box(kind, b"\0\0\0\0" + payload)  # version 0, flags 0


def _hevc_tile(tmp: Path, level: int) -> tuple[bytes, bytes]:
    """One grey TILE x TILE picture in HEVC: (its hvcC configuration, its length-prefixed sample)."""
    clip = tmp / f"tile{level}.mkv"
    with av.open(str(clip), "w") as out:
        s = out.add_stream("libx265", rate=1)
        s.width = s.height = TILE
        s.pix_fmt = "yuv420p"
        s.options = {"x265-params": "log-level=none"}
        frame = av.VideoFrame.from_ndarray(np.full((TILE, TILE, 3), level, np.uint8), format="rgb24")
        frame.pts, frame.time_base = 0, Fraction(1, 1)
        for p in [*s.encode(frame), *s.encode()]:
            out.mux(p)
    with av.open(str(clip)) as c:
        stream = c.streams.video[0]
        return bytes(stream.codec_context.extradata), next(bytes(p) for p in c.demux(stream) if p.size)


def heic_grid(path: Path, tmp: Path) -> Path:
    """A HEIC as phones write one: a 2x1 grid item (the primary picture, 2*TILE x TILE) of two
    HEVC tiles."""
    tiles = [_hevc_tile(tmp, 60), _hevc_tile(tmp, 200)]
    items = [(1, b"hvc1", tiles[0][1]), (2, b"hvc1", tiles[1][1])]
    items.append((3, b"grid", struct.pack(">BBBBHH", 0, 0, 0, 1, 2 * TILE, TILE)))
    ftyp = _box(b"ftyp", b"heic\0\0\0\0mif1heic")

    def meta(mdat_at: int) -> bytes:
        at, extents = mdat_at + 8, b""
        for item, _, data in items:
            extents += struct.pack(">HHHII", item, 0, 1, at, len(data))
            at += len(data)
        infe = b"".join(_box(b"infe", struct.pack(">IHH", 2 << 24, i, 0) + k + b"\0") for i, k, _ in items)
        ipco = _box(
            b"ipco",
            _box(b"hvcC", tiles[0][0])
            + _full_box(b"ispe", struct.pack(">II", TILE, TILE))
            + _full_box(b"ispe", struct.pack(">II", 2 * TILE, TILE)),
        )
        ipma = _full_box(
            b"ipma", struct.pack(">I", 3) + b"\0\x01\x02\x81\x02" + b"\0\x02\x02\x81\x02" + b"\0\x03\x01\x03"
        )
        return _full_box(
            b"meta",
            _full_box(b"hdlr", b"\0\0\0\0pict" + b"\0" * 13)
            + _full_box(b"pitm", struct.pack(">H", 3))
            + _full_box(b"iloc", b"\x44\x00" + struct.pack(">H", len(items)) + extents)
            + _full_box(b"iinf", struct.pack(">H", len(items)) + infe)
            + _full_box(b"iref", _box(b"dimg", struct.pack(">HHHH", 3, 2, 1, 2)))
            + _box(b"iprp", ipco + ipma),
        )

    head = ftyp + meta(len(ftyp) + len(meta(0)))
    path.write_bytes(head + _box(b"mdat", b"".join(data for _, _, data in items)))
    return path


@pytest.fixture
def heic(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    photo = heic_grid(tmp_path / "IMG_0001.HEIC", work)
    with av.open(str(photo)) as c:  # why it matters: FFmpeg plays it as a video of its first tile
        assert len(c.streams.video) == 2 and (c.streams.video[0].width, c.streams.video[0].height) == (TILE, TILE)
    return photo


def test_run_refuses_a_heic_photo_rather_than_paint_its_first_tile(capsys, tmp_path, heic):
    out = tmp_path / "out.png"
    refused(capsys, "run", heic, out, *RUN_FAST, "--effect", "grey", "--region", "whole", says="a HEIC photo")
    assert not out.exists()


def test_a_heic_given_to_batch_is_a_photo_and_fails_as_edit_says(tmp_path, heic):
    assert kind_of(heic) == "image"  # not a video of its first tile
    with pytest.raises(DeepPhotoError, match="a HEIC photo"):
        read_image_alpha(heic)  # what a batch worker does with a photo


def test_a_folder_keeps_its_heic_photos_in_the_batch_to_fail_with_their_reason(tmp_path, heic):
    folder = tmp_path / "phone"
    folder.mkdir()
    heic.rename(folder / heic.name)
    write_png(folder / "other.png", np.full((8, 8, 3), 128, np.uint8))
    (folder / "notes.txt").write_text("not a picture")
    items, problems = expand_inputs([str(folder)], tmp_path / "out")
    assert not problems
    assert sorted((it.source.name, it.kind) for it in items) == [("IMG_0001.HEIC", "image"), ("other.png", "image")]
