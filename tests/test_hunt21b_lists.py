"""``batch`` list files saved by PowerShell 5 (``dir -Name > list.txt``: UTF-16 with a byte-order
mark) were refused with "'utf-8' codec can't decode byte 0xff ...". They are read now; a list that
is no text DeepPhoto reads is refused in one plain line."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pytest
from adversarial import refused, write_png

from deepphoto.batch.inputs import expand_inputs


def _photos(tmp_path: Path) -> None:
    for name in ("first.png", "zweite-ä.png"):
        write_png(tmp_path / name, np.full((8, 8, 3), 128, np.uint8))


@pytest.mark.parametrize(
    "encoding, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)], ids=["le", "be"]
)
def test_a_utf16_list_with_its_byte_order_mark_is_read(tmp_path, encoding, bom):
    _photos(tmp_path)
    listed = tmp_path / "list.txt"
    listed.write_bytes(bom + "first.png\r\nzweite-ä.png\r\n".encode(encoding))
    items, problems = expand_inputs([str(listed)], tmp_path / "out")
    assert problems == []
    assert [it.source.name for it in items] == ["first.png", "zweite-ä.png"]


@pytest.mark.parametrize(
    "data",
    [
        b"caf\xe9.png\n",  # Latin-1 (an old Windows editor)
        "first.png\n".encode("utf-16-le"),  # UTF-16 without its mark
        codecs.BOM_UTF16_LE + b"f\x00i\x00r",  # cut in the middle of a character
    ],
    ids=["latin-1", "utf-16-without-its-mark", "utf-16-cut"],
)
def test_a_list_that_is_no_text_read_here_is_one_plain_line(capsys, tmp_path, data):
    listed = tmp_path / "list.txt"
    listed.write_bytes(data)
    said = refused(capsys, "batch", listed, "--out", tmp_path / "out", "--effect", "grey", says="cannot read the list")
    line = said.errors[0]
    assert "codec" not in line and "0xff" not in line and "Error" not in line, line
    assert "UTF-8" in line, line
