"""Bad input to eval-seg and the weights loader: one clear line, exit status 2, no traceback."""

import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from deepphoto.commands.cli import main


def run_cli(capsys, *argv):
    status = main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    return status, err[-1] if err else ""


def make_dataset(root, n=2, drop_mask=None):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        img = np.full((64, 48, 3), 120, np.uint8)
        cv2.imwrite(str(root / "images" / f"{i}.jpg"), img)
        if i != drop_mask:
            cv2.imwrite(str(root / "masks" / f"{i}.png"), np.zeros((32, 24), np.uint8))
    return root


def test_missing_data_dir(capsys, tmp_path):
    status, line = run_cli(capsys, "eval-seg", str(tmp_path / "nope"))
    assert status == 2
    assert "nope: no such folder" in line


def test_data_dir_without_masks_folder(capsys, tmp_path):
    (tmp_path / "images").mkdir()
    status, line = run_cli(capsys, "eval-seg", str(tmp_path))
    assert status == 2 and "masks: no such folder" in line


def test_mask_missing_for_an_image(capsys, tmp_path):
    data = make_dataset(tmp_path / "d", n=3, drop_mask=1)
    status, line = run_cli(capsys, "eval-seg", str(data))
    assert status == 2 and "1.jpg: no mask" in line


def test_unreadable_image(capsys, tmp_path):
    data = make_dataset(tmp_path / "d", n=1)
    (data / "images" / "0.jpg").write_bytes(b"not a jpeg")
    status, line = run_cli(capsys, "eval-seg", str(data), "--backend", "torch")
    assert status == 2 and "not a readable image" in line


def test_weights_of_another_model(capsys, tmp_path):
    data = make_dataset(tmp_path / "d", n=1)
    other = tmp_path / "style.safetensors"
    save_file({"w": torch.zeros(3)}, str(other), metadata={"kind": "stylenet"})
    status, line = run_cli(capsys, "eval-seg", str(data), "--backend", "torch", "--weights", str(other))
    assert status == 2 and "not a lightnet weights file" in line


def test_weights_file_that_is_garbage(capsys, tmp_path):
    data = make_dataset(tmp_path / "d", n=1)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 100)
    status, line = run_cli(capsys, "eval-seg", str(data), "--backend", "torch", "--weights", str(junk))
    assert status == 2 and "not a readable safetensors" in line


def test_lightnet_shaped_file_with_wrong_tensors(capsys, tmp_path):
    data = make_dataset(tmp_path / "d", n=1)
    bad = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(3)}, str(bad), metadata={"kind": "lightnet", "config": "{}"})
    status, line = run_cli(capsys, "eval-seg", str(data), "--backend", "torch", "--weights", str(bad))
    assert status == 2 and "do not fit LightNet" in line


def test_bad_input_size(capsys, tmp_path):
    data = make_dataset(tmp_path / "d", n=1)
    status, line = run_cli(capsys, "eval-seg", str(data), "--input-size", "big")
    assert status == 2 and "expected WIDTHxHEIGHT" in line


def test_eval_json_line_has_every_key(capsys, tmp_path):
    import json

    data = make_dataset(tmp_path / "d", n=2)
    assert main(["eval-seg", str(data), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {"n", "person_iou", "boundary_iou", "pooled_iou", "miou", "latency_ms", "size_mb"}
    assert result["n"] == 2


def test_no_traceback_from_the_console_script(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "deepphoto.commands.cli", "eval-seg", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("split", ["val", "train"])
def test_split_by_file_name_is_fixed(split):
    from deepphoto.training.seg_data import is_validation

    names = [str(i) for i in range(1, 291)]
    val = [n for n in names if is_validation(n)]
    assert 0.10 < len(val) / len(names) < 0.20
    assert val == [n for n in names if is_validation(n)]  # deterministic
