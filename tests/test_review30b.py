"""Review 30b: defects found reviewing hunt 30's firstrun, narrow and diskaudio changes."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _dead_pid() -> int:
    pid_max = Path("/proc/sys/kernel/pid_max")
    return int(pid_max.read_text()) + 1 if pid_max.exists() else 2**22 + 1


def test_a_killed_tensorrt_int8_builds_qdq_model_is_removed_by_the_next_build(tmp_path, monkeypatch):
    """A TensorRT 10 INT8 build writes a QDQ model beside its temporary plan; killed without a
    handler (the OOM killer), it was left in the engine cache for good ('<tmp>.qdq.onnx' is not
    a '.partial.plan' file the next build's sweep of dead writers' files looks for)."""
    from deepphoto.engines import build, cache, tensorrt_engine
    from deepphoto.engines.models import model_spec
    from deepphoto.stream import output_safety

    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    key = cache.EngineKey("lightnet", "0" * 64, "tensorrt", "10.0", "gpu", "int8")
    folder = tmp_path / "engines"
    folder.mkdir()
    written: list[Path] = []

    def quantize(float_path, out, feeds, target, ops):  # noqa: ANN001, ANN202
        Path(out).write_bytes(b"qdq model")
        written.append(Path(out))
        return 1

    import deepphoto.engines.quantize as quantize_module

    monkeypatch.setattr(quantize_module, "quantize_int8", quantize)
    monkeypatch.setattr(quantize_module, "feeds_of", lambda frames, feed: iter(()))
    monkeypatch.setattr(tensorrt_engine, "trt_version", lambda: "10.0.0")
    monkeypatch.setattr(tensorrt_engine, "build_serialized_engine", lambda source, *a: b"plan")
    monkeypatch.setattr(tensorrt_engine, "TensorRTEngine", lambda plan: plan)
    ctx = build.BuildContext(model_spec("lightnet"), "tensorrt", "int8", None, tmp_path)

    def built() -> None:
        tmp = cache.temporary_path(key, ".plan")
        try:
            assert build._build_tensorrt(ctx, key, tmp_path / "float.onnx", None, tmp, {}) == b"plan"  # type: ignore[arg-type]
        finally:  # as build_engine ends a build
            for leftover in tmp.parent.glob(f"{tmp.name}*"):
                leftover.unlink()

    built()
    assert written and not written[0].exists()
    # what a killed build left: the same name but for its dead writer's pid, long unchanged
    killed = written[0].with_name(written[0].name.replace(f".{os.getpid()}-", f".{_dead_pid()}-"))
    assert killed != written[0]
    killed.write_bytes(b"qdq model")
    long_ago = time.time() - 3600
    os.utime(killed, (long_ago, long_ago))
    output_safety._SWEPT.clear()  # the next build is another process
    built()
    assert not killed.exists(), sorted(p.name for p in folder.iterdir())
    assert not any(folder.iterdir())


def test_a_png_whose_end_chunk_fails_its_checksum_is_read_as_before(tmp_path, capfd):
    """A PNG whose IEND chunk (no part of the picture) fails its CRC was read whole, libpng only
    warning; since the chunks' checksums are checked before decoding it was refused: 'not a
    readable image: its IEND chunk fails its checksum (damaged inside)'."""
    import cv2
    import numpy as np

    from deepphoto.frames import read_image_alpha

    picture = np.random.default_rng(3).integers(0, 256, (40, 60, 3), np.uint8)
    whole = tmp_path / "whole.png"
    cv2.imwrite(str(whole), picture)
    data = bytearray(whole.read_bytes())
    assert data[-8:-4] == b"IEND"
    data[-1] ^= 0xFF  # the end chunk's checksum
    damaged = tmp_path / "end.png"
    damaged.write_bytes(bytes(data) + b"trailing bytes")
    capfd.readouterr()
    colour, alpha = read_image_alpha(damaged)
    assert np.array_equal(colour, picture) and alpha is None
    assert "libpng" not in capfd.readouterr().err


def test_a_truecolour_pngs_suggested_palette_failing_its_checksum_is_left_out(tmp_path, capfd):
    """A truecolour PNG may carry a suggested palette (PLTE, a hint for 256-colour screens);
    failing its CRC libpng only warned and read the picture whole; since the checksums are
    checked before decoding the photo was refused ('its PLTE chunk fails its checksum')."""
    import struct
    import zlib

    import cv2
    import numpy as np

    from deepphoto.frames import read_image_alpha

    picture = np.random.default_rng(4).integers(0, 256, (40, 60, 3), np.uint8)
    data = cv2.imencode(".png", picture)[1].tobytes()
    assert data[25] == 2  # truecolour
    palette = bytes(range(12))
    chunk = struct.pack(">I", len(palette)) + b"PLTE" + palette + struct.pack(">I", zlib.crc32(b"PLTE" + palette) ^ 1)
    path = tmp_path / "suggested.png"
    path.write_bytes(data[:33] + chunk + data[33:])  # after IHDR
    capfd.readouterr()
    colour, _ = read_image_alpha(path)
    assert np.array_equal(colour, picture)
    assert "libpng" not in capfd.readouterr().err
