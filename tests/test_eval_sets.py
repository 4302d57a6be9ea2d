"""eval-seg and bench-seg on the shared labelled sets, with boundary IoU beside person IoU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_shared

from deepphoto.commands.cli import main
from deepphoto.metrics import SegScores, boundary_iou, mask_to_boundary
from deepphoto.teachers import scores as teacher_scores


def test_boundary_iou_is_one_definition_shared_with_the_teacher_scores() -> None:
    assert teacher_scores.boundary_iou is boundary_iou
    truth = np.zeros((300, 300), bool)
    truth[60:240, 60:240] = True
    band = mask_to_boundary(truth)  # d = round(0.02 * 424) = 8 pixels inside the edge
    assert band[60, 150] and band[67, 150] and not band[68, 150] and not band[59, 150]
    scores = SegScores()
    shifted = np.roll(truth, 6, axis=1)
    scores.add(shifted, truth)
    scores.add(truth, truth)
    assert scores.per_image_boundary[1] == 1.0
    assert scores.per_image[0] > 0.9 > scores.per_image_boundary[0]  # edges see what IoU forgives
    assert scores.boundary_iou == pytest.approx(np.mean(scores.per_image_boundary))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval-seg"], "DATA_DIR or --set"),
        (["eval-seg", "--set", "nope"], "unknown labelled set 'nope'"),
        (["eval-seg", "--set", "hands", "--split", "val"], "only the hands"),
        (["bench-seg"], "DATA_DIR or --sets"),
    ],
)
def test_bad_set_choices_are_one_line_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@needs_shared
def test_eval_seg_scores_a_named_set(capsys: pytest.CaptureFixture) -> None:
    assert main(["eval-seg", "--set", "portraits", "--split", "val", "--threads", "1", "--json"]) == 0
    out = capsys.readouterr().out
    import json

    result = json.loads(out.strip().splitlines()[-1])
    assert result["n"] == 37  # v1's fixed validation split
    assert 0.5 < result["boundary_iou"] < result["person_iou"] <= 1


@needs_shared
def test_bench_seg_prints_a_table_per_set(capsys: pytest.CaptureFixture) -> None:
    argv = ["bench-seg", "--sets", "portraits", "--split", "val", "--threads", "1", "--no-peer", "--backends", "onnx"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "portraits (val, 37 images)" in out
    assert "| person IoU | boundary IoU |" in out
    row = next(line for line in out.splitlines() if line.startswith("| LightNet"))
    person, boundary = (float(v) for v in row.split("|")[4:6])
    assert 0.5 < boundary < person <= 1


@needs_shared
def test_bench_seg_compares_several_weights_in_one_run(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    import shutil

    from deepphoto.models.shipped import SHIPPED

    copy = tmp_path / "candidate.safetensors"
    shutil.copyfile(SHIPPED["lightnet"], copy)
    argv = ["bench-seg", "--sets", "portraits", "--split", "val", "--threads", "1", "--no-peer", "--backends", "onnx"]
    assert main([*argv, "--weights", "shipped", "--weights", str(copy), "--json"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out.strip().splitlines()[-1])["portraits"]
    assert [r["model"] for r in rows] == ["LightNet", "LightNet candidate"]
    assert rows[0]["person_iou"] == rows[1]["person_iou"]  # the same weights score the same
    assert "per_image" not in rows[0]  # the lists stay out of the JSON line
    # the difference to the first weights, with its interval: nothing, as the weights are the same
    assert "| LightNet candidate | " in out and "| +0.0 [+0.0, +0.0] | +0.0 [+0.0, +0.0] |" in out
