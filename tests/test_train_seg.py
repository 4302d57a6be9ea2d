"""LightNet training: schedule, loss, and a tiny resumable run on the shared data."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest
import torch
from conftest import SHARED, needs_shared

from deepphoto.commands.train_seg import add_arguments, config_from_args
from deepphoto.models.lightnet_io import SHIPPED_LIGHTNET, load_lightnet
from deepphoto.training.train_seg import SegTrainConfig, lr_at, seg_loss, train


def test_lr_schedule_warms_up_then_decays_to_two_percent() -> None:
    assert lr_at(0, 1000) == pytest.approx(0.01)
    assert lr_at(99, 1000) == pytest.approx(1.0)
    assert lr_at(100, 1000) == pytest.approx(1.0)
    assert lr_at(1000, 1000) == pytest.approx(0.02)
    rates = [lr_at(s, 1000) for s in range(100, 1001, 50)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))


def test_loss_is_lower_for_the_right_answer() -> None:
    target = torch.zeros(2, 32, 32, dtype=torch.long)
    target[:, 8:24, 8:24] = 1
    right = torch.stack([1 - target, target], 1).float() * 8 - 4  # logits at full size
    wrong = -right
    assert seg_loss(right, target) < 0.05 < seg_loss(wrong, target)


def _config(out: Path, steps: int) -> SegTrainConfig:
    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(
        [
            "--data", str(SHARED), "--out", str(out), "--steps", str(steps), "--batch", "2",
            "--sizes", "64,96", "--threads", "1", "--save-every", "1", "--init", str(SHIPPED_LIGHTNET),
        ]
    )  # fmt: skip
    return config_from_args(args)


@needs_shared
def test_tiny_run_trains_resumes_and_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    ckpt = train(_config(out, 2))
    first = torch.load(ckpt, weights_only=True)
    assert first["step"] == 2
    start = load_lightnet().state_dict()
    moved = [k for k, v in first["model"].items() if v.is_floating_point() and not torch.equal(v, start[k])]
    assert moved, "two optimiser steps changed no weight"
    begun = load_lightnet(out / "start.safetensors").state_dict()  # step 0, kept for a WiSE-FT average
    assert all(
        torch.allclose(begun[k].float(), start[k].float(), atol=2e-3) for k in start if start[k].is_floating_point()
    )

    config = dataclasses.replace(_config(out, 3), export=tmp_path / "tiny.safetensors")
    train(config)
    assert "resumed from" in capsys.readouterr().out
    assert torch.load(ckpt, weights_only=True)["step"] == 3
    assert load_lightnet(config.export)(torch.rand(1, 3, 64, 64)).shape == (1, 2, 32, 32)  # the shipped finer level
    assert len((out / "log.jsonl").read_text().splitlines()) == 2  # steps 2 and 3 are logged


@needs_shared
def test_distractors_are_person_shaped_scenery_labelled_background() -> None:
    import numpy as np

    from deepphoto.training.seg_data import SegTrainingData

    data = SegTrainingData(SHARED, seed=1, distractor_share=1.0)
    img = np.full((128, 96, 3), 128, np.uint8)
    mask = np.zeros((128, 96), np.uint8)
    mask[:, :30] = 1  # a "person" on the left
    changed = 0
    for _ in range(20):
        out, out_mask = data.distract(img, mask)
        assert out.shape == img.shape and out_mask.shape == mask.shape
        patch = np.abs(out.astype(int) - img).sum(2) > 0
        changed += patch.any()
        assert not out_mask[patch & (mask == 0)].any()  # the patch is never labelled person
        assert (patch & (mask > 0)).sum() <= 0.15 * max(1, patch.sum())  # beside people, not over them
    assert changed >= 10


def test_person_crop_knows_where_the_photo_cut_people_off() -> None:
    import numpy as np

    from deepphoto.training.seg_data import person_crop

    img = np.zeros((100, 80, 3), np.uint8)
    mask = np.zeros((100, 80), np.uint8)
    mask[30:100, 10:40] = 1  # an upper body running off the bottom of the photo
    crop = person_crop(img, mask)
    assert crop is not None and crop.bgr.shape == (70, 30, 3) and crop.alpha.shape == (70, 30)
    assert crop.cut == (False, True, False, False)
    assert person_crop(img, np.zeros_like(mask)) is None  # no people: no donor


@needs_shared
def test_copy_paste_adds_labelled_people_and_keeps_the_old_ones() -> None:
    import numpy as np

    from deepphoto.training.seg_data import SegTrainingData

    data = SegTrainingData(SHARED, seed=3, paste_share=1.0)
    assert len(data.donors) > 200
    img = np.full((160, 120, 3), 128, np.uint8)
    mask = np.zeros((160, 120), np.uint8)
    mask[40:, :30] = 1  # a person on the left
    grew = 0
    for _ in range(20):
        out, out_mask = data.paste_people(img, mask)
        assert out.shape == img.shape and out_mask.shape == mask.shape
        assert out_mask[mask > 0].all()  # the label is the union: nobody is lost
        new = (out_mask > 0) & (mask == 0)
        grew += new.sum() > 0.02 * mask.size
        changed = np.abs(out.astype(int) - img).sum(2) > 30
        assert changed[new].mean() > 0.5  # new person pixels are pasted pixels, not the old grey
    assert grew >= 15


@pytest.mark.parametrize("bad", ["abc", "320,", "300", "0"])
def test_bad_sizes_are_one_line_errors(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    p = argparse.ArgumentParser()
    add_arguments(p)
    with pytest.raises(SystemExit):
        p.parse_args(["--sizes", bad])
    assert "multiples of 32" in capsys.readouterr().err
    assert p.parse_args(["--sizes", "320,352"]).sizes == [320, 352]


def test_freeze_bn_keeps_statistics_but_trains_the_rest() -> None:
    from deepphoto.training.train_seg import train_mode

    net = load_lightnet()
    before = {k: v.clone() for k, v in net.state_dict().items() if "running_" in k}
    train_mode(net, freeze_bn=True)
    assert net.training and not any(m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    out = net(torch.rand(2, 3, 64, 64))
    out.sum().backward()
    after = net.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())  # statistics did not move
    assert all(p.grad is not None for p in net.parameters())  # every weight still learns

    train_mode(net)  # and without the flag, BatchNorm trains as usual
    assert all(m.training for m in net.modules())


@needs_shared
def test_skipped_portraits_are_left_out_and_unknown_ones_refused() -> None:
    from deepphoto.errors import DeepPhotoError
    from deepphoto.training.seg_data import SegTrainingData

    full = SegTrainingData(SHARED)
    less = SegTrainingData(SHARED, skip=["108", "110"])
    assert len(less.portraits) == len(full.portraits) - 2
    with pytest.raises(DeepPhotoError, match="190 not among the training portraits"):
        SegTrainingData(SHARED, skip=["190"])  # a validation portrait (or a typo) is refused
