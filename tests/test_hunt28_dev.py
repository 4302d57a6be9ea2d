"""Developer commands, hunt 28: what a new engineer met from a fresh clone.

- ``train-style`` (v1) logged each progress line's loss parts as their sum over 10, also at a run's
  end (``--steps 3`` printed about a third of the loss) and after a resume off a tenth step;
  ``train-style --distill`` likewise after such a resume (its count was the step's, not the run's).
- ``export --checkpoint last.pt --safetensors last.pt`` (or ``--weights W --onnx W``, or
  ``--average A B --safetensors A``) wrote over the file it was made from: the run's resume
  checkpoint, optimiser state and all, was gone.
- ``bench --clips`` into an ``--out`` holding a ``report.json`` that is no report (cut short, not
  JSON, a list) measured every clip, then died with a traceback and kept no number.
- ``train-style --distill --teacher TYPO`` said "no teacher paintings: run 'deepphoto
  paint-teacher'", which paints into the cache, never into that folder: the advice could not help.
- ``train-seg``, ``train-style``, ``eval-style`` and ``export style-grams`` took ``--data``'s
  default as ``../shared/data`` whatever ``$DEEPPHOTO_SHARED_DATA`` said, while their error for a
  missing folder (and every other developer command) says to set it.
- ``soak`` for less than a minute printed its start figure as "after the first minute" and the
  growth since as "over the run after warm-up": no minute had been sampled.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from deepphoto.commands.cli import main
from deepphoto.models.shipped import SHIPPED
from deepphoto.models.stylenet import StyleNet
from deepphoto.training.config import StyleTrainConfig


def one_error(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deepphoto: error: "), err
    return err[0]


@pytest.fixture
def losses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every training step's loss, as the loop's ``loss.backward()`` sees it."""
    seen: list[float] = []
    backward = torch.Tensor.backward

    def recording(self: torch.Tensor, *args: object, **kwargs: object) -> None:
        seen.append(float(self.detach()))
        backward(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", recording)
    return seen


def logged(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_train_style_logs_the_mean_of_the_steps_it_ran(tmp_path, monkeypatch, losses, one_thread):
    from deepphoto.training import train_style

    rng = np.random.default_rng(0)
    pictures = [rng.integers(0, 256, (48, 48, 3), dtype=np.uint8) for _ in range(3)]
    monkeypatch.setattr(train_style, "training_content", lambda data: pictures)
    monkeypatch.setattr(train_style, "style_images", lambda data: pictures[:1] * len(train_style.STYLE_SOURCES))
    config = StyleTrainConfig(out=tmp_path / "run", steps=3, batch=1, crop=32, threads=1, temporal_weight=1.0)
    train_style.train(config)
    assert len(losses) == 3
    (line,) = logged(config.out)
    assert line["step"] == 3
    assert line["loss"] == pytest.approx(np.mean(losses), rel=1e-3)  # was the sum over 10


def test_a_resumed_distillation_logs_the_mean_of_the_steps_it_ran(tmp_path, losses, one_thread):
    from deepphoto.training.distill import train_distill
    from deepphoto.training.distill_data import PairedCrops

    rng = np.random.default_rng(1)
    pairs = []
    for i in range(2):
        content = cv2.resize(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), (48, 48))
        a, b = tmp_path / f"c{i}.png", tmp_path / f"p{i}.png"
        cv2.imwrite(str(a), content)
        cv2.imwrite(str(b), 255 - content)
        pairs.append((a, b))
    data = PairedCrops([pairs], ["toy"])
    config = StyleTrainConfig(
        distill=True, out=tmp_path / "run", steps=3, batch=1, crop=32, threads=1, styles=("toy",), keep_last=0
    )
    train_distill(config, data)
    losses.clear()
    train_distill(StyleTrainConfig(**{**config.__dict__, "steps": 10}), data)  # resumed at 3: 7 steps
    assert len(losses) == 7
    last = logged(config.out)[-1]
    assert last["step"] == 10
    assert last["loss"] == pytest.approx(np.mean(losses), rel=1e-3)  # was their sum over 10


def test_export_never_writes_over_what_it_is_made_from(tmp_path, capsys):
    checkpoint = tmp_path / "last.pt"
    torch.save({"model": StyleNet(5).state_dict(), "optim": {}, "step": 1}, checkpoint)
    before = checkpoint.read_bytes()
    line = one_error(capsys, ["export", "stylenet", "--checkpoint", str(checkpoint), "--safetensors", str(checkpoint)])
    assert "is the input" in line
    assert checkpoint.read_bytes() == before  # the run can still resume

    weights = tmp_path / "mine.safetensors"
    shutil.copyfile(SHIPPED["stylenet"], weights)
    line = one_error(capsys, ["export", "stylenet", "--weights", str(weights), "--onnx", str(weights)])
    assert "is the input" in line
    assert weights.read_bytes() == SHIPPED["stylenet"].read_bytes()

    other = tmp_path / "other.safetensors"
    shutil.copyfile(SHIPPED["stylenet"], other)
    line = one_error(capsys, ["export", "stylenet", "--average", str(weights), str(other), "--safetensors", str(other)])
    assert "is the input" in line


@pytest.mark.parametrize("earlier", ['{"configs": [1,', "[1, 2]", ""])
def test_bench_clips_keeps_its_numbers_when_out_holds_no_report(tmp_path, monkeypatch, capsys, earlier):
    from deepphoto.measure import steadiness

    section = {"rows": [{"clip": "walk.mp4"}]}
    monkeypatch.setattr(steadiness, "find_clips", lambda folders: [tmp_path / "walk.mp4"])
    monkeypatch.setattr(steadiness, "run_clips", lambda *a, **k: dict(section))
    monkeypatch.setattr(steadiness, "markdown", lambda s: ["## Steadiness on every clip", "", "| walk.mp4 |"])
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.json").write_text(earlier)  # a report cut short, or a file that is none
    assert main(["bench", "--clips", str(tmp_path), "--out", str(out), "--frames", "2"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["clips"]["rows"] == section["rows"]
    assert "| walk.mp4 |" in (out / "report.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md"]  # no temporary file left
    assert "walk.mp4" in capsys.readouterr().out


def test_a_teacher_folder_that_is_not_there_is_said_as_such(tmp_path, capsys):
    line = one_error(
        capsys, ["train-style", "--distill", "--teacher", str(tmp_path / "typo"), "--out", str(tmp_path / "run")]
    )
    assert "typo: --teacher folder not found" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["train-seg", "--steps", "1", "--batch", "2", "--sizes", "64", "--threads", "1", "--out", "{tmp}/run"],
        ["train-style", "--steps", "1", "--batch", "1", "--crop", "32", "--threads", "1", "--out", "{tmp}/run"],
        ["export", "style-grams", "--safetensors", "{tmp}/grams.safetensors"],
        ["eval-style", "--images", "1", "--size", "32", "--optimize-images", "0", "--sheet", "{tmp}/sheet.jpg"],
    ],
    ids=lambda argv: argv[0] + (" " + argv[1] if not argv[1].startswith("-") else ""),
)
def test_the_data_folder_defaults_to_deepphoto_shared_data(tmp_path, monkeypatch, capsys, argv):
    gone = tmp_path / "moved-data"
    monkeypatch.setenv("DEEPPHOTO_SHARED_DATA", str(gone))
    line = one_error(capsys, [a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert str(gone) in line  # the folder the variable names, not ../shared/data


def test_a_soak_shorter_than_a_minute_claims_no_after_warm_up_figure(monkeypatch, capsys):
    from types import SimpleNamespace

    import deepphoto.pipeline
    from deepphoto.measure import soak

    class Pipe:
        def __init__(self, settings: object) -> None:
            pass

        def __enter__(self) -> Pipe:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def describe(self) -> str:
            return "blur on the background"

    summary = SimpleNamespace(frames_out=30, dropped=0, fps=10.0, latency_ms=[20.0] * 30, interrupted=False)
    result = soak.SoakResult(offered=30, summary=summary, start_rss=140.0, end_rss=170.0)  # no minute sampled
    monkeypatch.setattr(deepphoto.pipeline, "Pipeline", Pipe)
    monkeypatch.setattr(soak, "soak", lambda *a, **k: result)
    assert main(["soak", "--minutes", "0.05", "--fps", "10", "--size", "96x64"]) == 0
    memory = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("resident memory"))
    assert "after the first minute" not in memory and "after warm-up" not in memory
    assert "140.0 MB at start, 170.0 MB at the end (+30.0 MB, warm-up included" in memory
