"""Review 32c: the environment commits of hunt 32 (a standard output that cannot be written, the
engine cache's lock and free space, make demo's set-up)."""

from __future__ import annotations

import errno
import io

import pytest


class FullDisk(io.StringIO):
    """A standard output on a full disk: every write and flush fails with ENOSPC."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


# ---------------------------------------------------------------- argparse's own printing


@pytest.mark.parametrize("words", [["--version"], ["styles", "--help"]])
def test_help_or_version_to_a_full_disk_is_a_failure(words, monkeypatch, capsys):
    # 'deepphoto run --help > help.txt' (or --version) on a full disk: argparse ends with SystemExit(0),
    # which went past the check of the standard output: an empty file and status 0, without a word
    from deepphoto.commands.cli import main

    monkeypatch.setattr("sys.stdout", FullDisk())
    with pytest.raises(SystemExit) as ended:
        main(words)
    assert ended.value.code == 2
    assert capsys.readouterr().err == (
        "deepphoto: error: standard output: cannot be written: the disk is full (No space left on device)\n"
    )


def test_help_that_was_written_still_ends_as_argparse_ends_it(capsys):
    from deepphoto.commands.cli import main

    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out.startswith("deepphoto ")
    with pytest.raises(SystemExit) as ended:
        main(["run"])  # a usage error: status 2, as before
    assert ended.value.code == 2
