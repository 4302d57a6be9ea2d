"""A hunt through the developer commands: a damaged checkpoint gave export a traceback; export
style-grams without --safetensors wrote a file named None; weights were written straight to their
name (half a file after Ctrl-C) and a folder given as the file gave a traceback; a weights file
whose config is not JSON gave a traceback; eval-seg and bench-seg over a split with no image
scored mIoU 1.0 with status 0; --out naming a file, and bare whole-number options, gave tracebacks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from deepphoto.commands.cli import main
from deepphoto.errors import DeepPhotoError
from deepphoto.models.weights import read_weights, save_state
from deepphoto.training.seg_data import is_validation


def one_error(capsys, args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deepphoto: error: "), err
    return err[0]


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all\n", b"PK\x03\x04 truncated zip"])
def test_export_of_a_damaged_checkpoint_is_one_line(tmp_path, capsys, content):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    line = one_error(capsys, ["export", "lightnet", "--checkpoint", str(bad), "--safetensors", str(tmp_path / "o.st")])
    assert str(bad) in line
    assert not (tmp_path / "o.st").exists()


def test_export_of_the_other_networks_checkpoint_is_one_line(tmp_path, capsys):
    ckpt = tmp_path / "other.pt"
    torch.save({"model": {"x.weight": torch.zeros(2)}, "optim": {}, "step": 3}, ckpt)
    line = one_error(capsys, ["export", "stylenet", "--checkpoint", str(ckpt), "--safetensors", str(tmp_path / "o")])
    assert "not a stylenet training checkpoint" in line


def test_style_grams_writes_only_safetensors(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_error(capsys, ["export", "style-grams", "--onnx", str(tmp_path / "g.onnx")])
    assert "--safetensors" in line
    assert not (tmp_path / "None").exists()


def test_weights_are_written_whole_and_a_folder_is_refused(tmp_path):
    state = {"w": torch.ones(3)}
    out = tmp_path / "w.safetensors"
    save_state(state, out, "lightnet", {"a": 1})
    save_state({"w": torch.zeros(3)}, out, "lightnet", {"a": 2})  # replaced whole
    assert read_weights(out, "lightnet")[1] == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]  # no partial file left
    with pytest.raises(DeepPhotoError, match="is a folder"):
        save_state(state, tmp_path, "lightnet", {})
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DeepPhotoError, match="is a file, not a folder"):
        save_state(state, tmp_path / "afile" / "w.safetensors", "lightnet", {})


@pytest.mark.parametrize("config", ["{x", "[1]"])
def test_weights_whose_config_is_not_a_json_object_are_one_line(tmp_path, config):
    path = tmp_path / "bad.safetensors"
    save_file({"w": torch.ones(2)}, str(path), metadata={"kind": "lightnet", "config": config})
    with pytest.raises(DeepPhotoError, match="config metadata is not a JSON object"):
        read_weights(path, "lightnet")


def test_a_split_with_no_image_is_an_error_not_a_perfect_score(tmp_path, capsys):
    data = tmp_path / "ds"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    stems = [s for s in (f"p{i}" for i in range(200)) if not is_validation(s)][:2]  # training-split names only
    for stem in stems:
        cv2.imwrite(str(data / "images" / f"{stem}.jpg"), np.full((32, 32, 3), 90, np.uint8))
        cv2.imwrite(str(data / "masks" / f"{stem}.png"), np.zeros((32, 32), np.uint8))
    line = one_error(capsys, ["eval-seg", str(data), "--split", "val", "--json"])
    assert "no images in the val split (2 in all)" in line
    line = one_error(capsys, ["bench-seg", str(data), "--split", "val", "--no-peer", "--json"])
    assert "no images in the val split" in line


def test_out_naming_a_file_and_whole_number_options_are_one_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    line = one_error(
        capsys, ["make-clips", "--out", str(tmp_path / "afile"), "--frames", "2", "--only", "shake-selfie"]
    )
    assert "afile" in line
    one_error(capsys, ["make-clips", "--out", str(tmp_path / "c"), "--seed", "-3"])
    one_error(capsys, ["label-teachers", "--threads", "99999999999"])


def test_a_distill_crop_too_small_for_the_temporal_term_is_refused():
    from deepphoto.training.config import StyleTrainConfig

    with pytest.raises(DeepPhotoError, match="the temporal term needs a crop above 16"):
        StyleTrainConfig(distill=True, crop=16)
    StyleTrainConfig(distill=True, crop=16, temporal_weight=0.0)  # without the term: fine
    StyleTrainConfig(distill=True, crop=24)


@pytest.mark.parametrize("sheet", ["sheet.txt", "sheet", "folder"])
def test_eval_style_refuses_a_sheet_it_cannot_write_before_the_work(tmp_path, capsys, monkeypatch, sheet):
    import deepphoto.measure.eval_style as measure

    monkeypatch.setattr(measure, "evaluate_styles", lambda *a, **k: pytest.fail("evaluated before the check"))
    (tmp_path / "folder").mkdir()
    line = one_error(capsys, ["eval-style", "--sheet", str(tmp_path / sheet)])
    assert "name the sheet as an image file" in line


def test_weights_to_start_from_that_are_not_there_are_said_before_the_data_loads(tmp_path):
    from deepphoto.training.config import SegTrainConfig, StyleTrainConfig

    missing = tmp_path / "nonexist.safetensors"
    for make in (
        lambda: SegTrainConfig(init=missing),
        lambda: SegTrainConfig(init_encoder=missing),
        lambda: StyleTrainConfig(init=missing),
        lambda: StyleTrainConfig(distill=True, init=missing),
    ):
        with pytest.raises(DeepPhotoError, match="nonexist.safetensors: weights file not found"):
            make()
