"""Bad input: one clear line naming the problem, a non-zero exit, no traceback, nothing lost."""

import os

import cv2
import numpy as np
import pytest
from media import make_clip, probe

from deepphoto.commands.cli import main


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith("deepphoto")]
    return status, err[-1] if err else ""


@pytest.fixture
def clip(tmp_path):
    return make_clip(tmp_path / "clip.mp4", frames=30, size=(128, 96))


def test_missing_input(capsys, tmp_path):
    status, line = run_cli(capsys, "run", tmp_path / "nope.mp4", tmp_path / "out.mp4")
    assert status == 2 and "nope.mp4: no such file" in line


def test_not_a_video(capsys, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n" * 50)
    status, line = run_cli(capsys, "run", bad, tmp_path / "out.mp4")
    assert status == 2 and "not a readable video" in line
    assert not (tmp_path / "out.mp4").exists()


def test_zero_length_file(capsys, tmp_path):
    empty = tmp_path / "empty.mkv"
    empty.touch()
    status, line = run_cli(capsys, "run", empty, tmp_path / "out.mp4")
    assert status == 2 and "file is empty" in line


def test_truncated_video_decodes_what_it_can(capsys, tmp_path, clip):
    # An mp4 whose index (moov) is at the end cannot be read at all once cut; mkv can: use that.
    mkv = make_clip(tmp_path / "whole.mkv", frames=30, size=(128, 96))
    data = mkv.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out.mp4"
    status = main(["run", str(cut), str(out), "--quiet"])
    assert status == 0
    frames = probe(out)["frames"]
    assert 5 < frames < 30


def test_corrupt_bytes_in_the_middle_are_skipped(capsys, tmp_path):
    mkv = make_clip(tmp_path / "whole.mkv", frames=30, size=(128, 96))
    data = bytearray(mkv.read_bytes())
    rng = np.random.default_rng(0)
    start = len(data) // 2
    data[start : start + 300] = rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
    bad = tmp_path / "damaged.mkv"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out.mkv"
    assert main(["run", str(bad), str(out), "--quiet"]) == 0
    assert probe(out)["frames"] > 10


@pytest.mark.parametrize(
    "option,value,listing",
    [
        ("--style", "mona-lisa", "unknown style 'mona-lisa'"),
        ("--effect", "sepia", "blur, cartoon"),
        ("--region", "sky", "whole, background, person"),
        ("--backend", "tensorflow", "onnx, torch"),
        ("--seg-input", "256", "expected WIDTHxHEIGHT"),
        ("--size", "big", "expected WIDTHxHEIGHT"),
    ],
)
def test_unknown_names_list_the_valid_ones(capsys, tmp_path, clip, option, value, listing):
    out = tmp_path / "out.mp4"
    status, line = run_cli(capsys, "run", clip, out, option, value)
    assert status == 2 and listing in line
    assert not out.exists()


def test_camera_that_does_not_exist(capsys, tmp_path):
    status, line = run_cli(capsys, "run", "/dev/video63", tmp_path / "out.mp4")
    assert status == 2 and "camera not found" in line


def test_output_folder_that_does_not_exist(capsys, tmp_path, clip):
    status, line = run_cli(capsys, "run", clip, tmp_path / "missing" / "out.mp4")
    assert status == 2 and "output folder does not exist" in line


def test_output_folder_that_cannot_be_written(capsys, tmp_path, clip, monkeypatch):
    # Root may write anywhere, so the permission answer is simulated; the check and message are real.
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p) == str(tmp_path / "locked") else real_access(p, mode)
    )
    (tmp_path / "locked").mkdir()
    status, line = run_cli(capsys, "run", clip, tmp_path / "locked" / "out.mp4")
    assert status == 2 and "not writable" in line


def test_damaged_onnx_model_given_as_weights(capsys, tmp_path, clip):
    bad = tmp_path / "seg.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 100)
    status, line = run_cli(capsys, "eval-seg", tmp_path / "nothing", "--weights", bad)
    assert status == 2  # the data folder is checked first
    data = tmp_path / "d"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    cv2.imwrite(str(data / "images" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(data / "masks" / "a.png"), np.zeros((8, 8), np.uint8))
    status, line = run_cli(capsys, "eval-seg", data, "--weights", bad)
    assert status == 2 and "not a loadable ONNX model" in line


def test_photo_output_is_not_overwritten(capsys, tmp_path):
    photo = tmp_path / "in.png"
    cv2.imwrite(str(photo), np.full((40, 60, 3), 90, np.uint8))
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    status, line = run_cli(capsys, "edit", photo, out, "--effect", "grey")
    assert status == 2 and "already exists" in line and out.read_bytes() == b"precious"


@pytest.mark.parametrize(
    "shape,dtype",
    [
        ((41, 63), np.uint8),  # greyscale, odd sizes
        ((30, 20, 4), np.uint8),  # RGBA
        ((33, 47, 3), np.uint16),  # 16-bit
        ((1, 1, 3), np.uint8),
    ],
)
def test_photos_of_any_kind_keep_their_size(capsys, tmp_path, shape, dtype):
    photo = tmp_path / "in.png"
    rng = np.random.default_rng(0)
    cv2.imwrite(str(photo), rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype))
    out = tmp_path / "out.png"
    assert main(["edit", str(photo), str(out), "--effect", "blur"]) == 0
    result = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    channels = 4 if len(shape) == 3 and shape[2] == 4 else 3  # a PNG's transparency is kept
    assert result.shape == shape[:2] + (channels,) and result.dtype == np.uint8


def test_a_huge_photo_is_processed_at_model_size_and_kept_full_size(tmp_path):
    photo = tmp_path / "big.jpg"
    big = np.zeros((6000, 8000, 3), np.uint8)
    big[1500:6000, 3000:5000] = (40, 90, 200)
    cv2.imwrite(str(photo), big, [cv2.IMWRITE_JPEG_QUALITY, 80])
    out = tmp_path / "out.jpg"
    assert main(["edit", str(photo), str(out), "--effect", "grey"]) == 0
    assert cv2.imread(str(out)).shape == (6000, 8000, 3)


def test_odd_sized_video_is_written(tmp_path, capsys):
    src = make_clip(tmp_path / "odd.mkv", frames=5, size=(97, 63))
    out = tmp_path / "out.mp4"
    assert main(["run", str(src), str(out), "--quiet"]) == 0
    got = probe(out)
    assert got["frames"] == 5 and got["size"] == (96, 62)  # H.264 4:2:0 needs even sizes
    said = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(said) == 1 and "frames of 97x63 are written as 96x62" in said[0]  # once, not per frame


def test_a_folder_with_one_unreadable_image_keeps_going(capsys, tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    for name in ("a.jpg", "a.png", "b.png"):
        cv2.imwrite(str(src / name), np.full((24, 32, 3), 80, np.uint8))
    (src / "c.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    assert main(["run", str(src), f"{out}/", "--effect", "grey", "--quiet"]) == 0
    assert "skipped" in capsys.readouterr().err
    assert len(list(out.glob("*.png"))) == 3  # a.jpg and a.png do not overwrite each other
