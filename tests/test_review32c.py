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


# ---------------------------------------------------------------- make demo after make test

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _checkout(tmp_path):
    """The Makefile in a bare checkout whose set-up 'make test' made (its stamp newer than pyproject)."""
    import os
    import shutil

    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "make_venv.sh").write_text("exit 0\n")  # the venv as it is
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    for name in ("pyproject.toml", "constraints.txt"):
        (tmp_path / name).write_text("")
        os.utime(tmp_path / name, (1_000_000_000, 1_000_000_000))
    full = tmp_path / ".venv" / ".installed-torch-export-vcam-peers-bench-web-cluster-dev"
    full.write_text("")
    return full


def _plan(folder, *words: str) -> str:
    import subprocess

    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(folder), *words], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(__import__("shutil").which("make") is None, reason="needs make")
def test_make_demo_after_make_test_installs_nothing_again(tmp_path):
    # 'make test' then 'make demo': hunt 32 gave the demo a stamp of its own, so the demo installed
    # again (pip upgraded from PyPI, the package built with setuptools fetched): minutes, and offline a failure
    import os

    full = _checkout(tmp_path)
    plan = _plan(tmp_path, "demo")
    assert "pip install" not in plan, plan
    assert plan.rstrip().endswith(".venv/bin/deepphoto demo")
    # once pyproject.toml changes, the full set-up no longer serves: the demo's own set-up is installed
    os.utime(full, (1, 1))
    assert '.venv/bin/python -m pip install -c constraints.txt -e "."' in _plan(tmp_path, "demo")
    # and 'make test' after 'make demo' still installs every extra
    (tmp_path / ".venv" / ".installed-core").write_text("")
    assert '-e ".[torch,export,vcam,peers,bench,web,cluster,dev]"' in _plan(tmp_path, "setup")
