"""Developer commands left from the session-24 hunt: Ctrl-C during make-clips kept a shortened clip
(measured by bench --clips as a whole one); train-seg --batch 1 --sizes 32 died in BatchNorm with a
traceback; a missing --resume was said only after the data had loaded; bench-seg DATA_DIR
--weights and bench --clips with speed-benchmark options silently ignored the options;
train-style --styles wave,wave gave two rows one name."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from deepphoto.commands.cli import main
from deepphoto.errors import DeepPhotoError
from deepphoto.measure import synthetic_clips
from deepphoto.models.shipped import SHIPPED
from deepphoto.training.config import SegTrainConfig, StyleTrainConfig


def one_error(capsys, args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deepphoto: error: "), err
    return err[0]


def test_a_clip_cut_short_by_ctrl_c_is_not_kept(tmp_path, monkeypatch):
    def three_then_ctrl_c(*_args, **_kwargs):
        for i in range(3):
            yield np.full((64, 96, 3), 40 * i, np.uint8)
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic_clips, "frames", three_then_ctrl_c)
    recipe = synthetic_clips.RECIPES[0]
    with pytest.raises(KeyboardInterrupt):
        synthetic_clips.write_clip(recipe, tmp_path, (96, 64), 90)
    assert list(tmp_path.iterdir()) == []  # neither the clip nor its temporary file

    monkeypatch.setattr(
        synthetic_clips, "frames", lambda *a, **k: (np.full((64, 96, 3), 9, np.uint8) for _ in range(4))
    )
    path = synthetic_clips.write_clip(recipe, tmp_path, (96, 64), 4)
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_batchnorm_on_one_value_a_channel_is_refused_with_the_way_out():
    with pytest.raises(DeepPhotoError, match="--batch 1 at size 32: BatchNorm needs more than one value"):
        SegTrainConfig(batch=1, sizes=(32, 64))
    SegTrainConfig(batch=2, sizes=(32,))  # two values a channel: trains
    SegTrainConfig(batch=1, sizes=(64,))  # a 2x2 map: trains
    SegTrainConfig(batch=1, sizes=(32,), freeze_bn=True)  # statistics fixed: trains


def test_a_missing_resume_checkpoint_is_said_before_the_data_loads(tmp_path, capsys):
    gone = tmp_path / "gone.pt"
    with pytest.raises(DeepPhotoError, match="gone.pt: --resume checkpoint not found"):
        SegTrainConfig(resume=gone)
    with pytest.raises(DeepPhotoError, match="gone.pt: --resume checkpoint not found"):
        StyleTrainConfig(distill=True, resume=gone)
    # through the command line, with a data folder that does not exist: the checkpoint is named first
    line = one_error(capsys, ["train-seg", "--data", str(tmp_path / "nodata"), "--resume", str(gone)])
    assert "--resume checkpoint not found" in line


def test_a_style_named_twice_is_refused(capsys):
    line = one_error(capsys, ["train-style", "--distill", "--styles", "wave, scream,wave"])
    assert "wave named more than once" in line


@pytest.mark.parametrize(
    "extra",
    [["--backend", "onnx"], ["--precision", "int8"], ["--looks", "wave:whole"], ["--no-peers"], ["some.mp4"]],
)
def test_bench_clips_refuses_the_options_it_would_ignore(tmp_path, capsys, extra):
    line = one_error(capsys, ["bench", "--clips", str(tmp_path), "--out", str(tmp_path / "r"), *extra])
    assert "--clips measures run's defaults" in line
    assert not (tmp_path / "r").exists()


def test_bench_seg_of_a_data_folder_compares_the_weights_given(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    for i in range(2):
        image = np.full((96, 80, 3), 200, np.uint8)
        mask = np.zeros((96, 80), np.uint8)
        cv2.ellipse(image, (40, 60), (22, 34), 0, 0, 360, (40, 60, 90), -1)
        cv2.ellipse(mask, (40, 60), (22, 34), 0, 0, 360, 255, -1)
        cv2.imwrite(str(data / "images" / f"p{i}.png"), image)
        cv2.imwrite(str(data / "masks" / f"p{i}.png"), mask)
    copy = tmp_path / "second-look.safetensors"
    shutil.copyfile(SHIPPED["lightnet"], copy)
    argv = ["bench-seg", str(data), "--no-peer", "--threads", "1", "--weights", "shipped", "--weights", str(copy)]
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("LightNet")]
    assert len(rows) == 2 and rows[1].startswith("LightNet second-look"), out
    assert rows[0].split()[-4:][:3] == rows[1].split()[-4:][:3]  # the same weights score the same
