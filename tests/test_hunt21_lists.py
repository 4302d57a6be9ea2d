"""``batch``'s list files as editors on other systems save them, and the line said of one that
cannot be read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from adversarial import refused, write_png

from deepphoto.batch.inputs import expand_inputs


def test_a_list_saved_with_a_byte_order_mark_keeps_its_first_entry(tmp_path: Path) -> None:
    # Windows Notepad's "UTF-8 with BOM" (and PowerShell 5's -Encoding utf8), with CRLF line ends:
    # the mark was read as part of the first name, which then did not exist
    for name in ("first.png", "second.png"):
        write_png(tmp_path / name, np.full((8, 8, 3), 128, np.uint8))
    listed = tmp_path / "list.txt"
    listed.write_bytes(b"\xef\xbb\xbffirst.png\r\nsecond.png\r\n")
    items, problems = expand_inputs([str(listed)], tmp_path / "out")
    assert problems == []
    assert [it.source.name for it in items] == ["first.png", "second.png"]


def test_a_list_that_cannot_be_read_is_named_once_in_its_line(capsys, tmp_path: Path) -> None:
    listed = tmp_path / "list.txt"
    listed.write_bytes(b"\xff\xfe\x00not text")
    result = refused(
        capsys, "batch", listed, "--out", tmp_path / "out", "--effect", "grey", says="cannot read the list"
    )
    assert result.errors[0].count("list.txt") == 1, result.errors[0]  # was "list.txt: list.txt: cannot read ..."
