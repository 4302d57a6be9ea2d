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


# ---------------------------------------------------------------- the engine cache's lock

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
needs_flock = pytest.mark.skipif(fcntl is None, reason="needs flock (POSIX)")


@needs_flock
def test_an_intact_engine_is_used_while_another_process_rebuilds_it(tmp_path, monkeypatch, capsys):
    # 'deepphoto build-engine lightnet --precision int8 --force' (or --calib FOLDER) in one terminal holds
    # the key's lock for minutes; a 'deepphoto run' started meanwhile did not look at the engine in the
    # cache at all, and waited for the rebuild ('waiting for another DeepPhoto process building ...')
    import os

    from deepphoto.engines import cache

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    key = cache.EngineKey("lightnet", "0" * 64, "onnx", "ort1", "cpu", "int8")
    folder = tmp_path / "engines"
    folder.mkdir()
    built = folder / "built.tmp"
    built.write_bytes(b"the engine built yesterday")
    cache.store(key, ".onnx", built, {"use": "int8"})
    fd = os.open(folder / f".{key.stem}.lock", os.O_RDWR | os.O_CREAT, 0o666)  # the rebuilding process's
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        found = cache.lookup(key, ".onnx")
        assert found is not None and found.path == folder / f"{key.stem}.onnx" and found.info["use"] == "int8"
        # the rebuild moves its engine into place, its record not yet: not judged damaged, not removed
        (folder / f"{key.stem}.onnx").write_bytes(b"the engine being stored")
        assert cache.lookup(key, ".onnx") is None
        assert (folder / f"{key.stem}.onnx").exists() and (folder / f"{key.stem}.json").exists()
        assert "damaged" not in capsys.readouterr().err
    finally:
        os.close(fd)
