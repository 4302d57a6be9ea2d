"""`deepphoto bench` on a tiny clip, one configuration: the report exists and holds every field."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from deepphoto.commands.cli import main
from deepphoto.measure.runner import STAGES


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    argv = ["bench", "--sizes", "320x240", "--frames", "6", "--backend", "onnx", "--precision", "fp32"]
    assert main([*argv, "--looks", "starry-night:background", "--out", str(out)]) == 0
    return out


def test_report_files_are_written(tiny_report: Path) -> None:
    for name in ("report.json", "report.md", "fps.png", "stages.png", "flicker.png", "frames.jpg"):
        assert (tiny_report / name).stat().st_size > 100, name


def test_report_holds_every_field(tiny_report: Path) -> None:
    report = json.loads((tiny_report / "report.json").read_text())
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["cpu"] and machine["threads"]
    assert {"onnxruntime", "numpy", "opencv"} <= set(machine["versions"])
    (row,) = report["configs"]
    assert row["size"] == "320x240" and row["seg_engine"] == "onnx:fp32" and row["frames"] == 6
    assert row["fps"] > 0 and row["cpu_percent"] > 0 and row["peak_rss_mb"] > 50
    assert set(row["stages"]) == set(STAGES)
    for stage in row["stages"].values():
        assert 0 <= stage["median_ms"] <= stage["p95_ms"]
    for field in ("mask_flicker_raw", "mask_flicker_smoothed", "output_flicker_levels", "still_share"):
        assert row[field] is not None and row[field] >= 0, field
    assert row["lag_frames"] is None or 0 <= row["lag_frames"] <= 5
    targets = {"flicker_ratio_worst", "flicker_halved", "lag_worst_frames", "lag_at_most_one_frame"}
    assert set(report["targets"]) == targets
    measured = {r["model"] for r in report["segmentation_peers"] if "median_ms" in r}
    assert {"LightNet", "MediaPipe selfie"} <= measured  # the peers extra is installed by make setup
    assert any(
        r["model"].startswith("Johnson") and r["median_ms"] > 0 for r in report["style_peers"] if "median_ms" in r
    )
    assert report["failed"] == [] and row["style_engine"].startswith("onnx:")
    md = (tiny_report / "report.md").read_text()
    assert "| 320x240 | onnx:fp32 | onnx:fp32 | starry-night / background |" in md and "Targets:" in md


def test_unknown_backend_and_bad_looks_are_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--backend", "cuda-magic"]) == 2
    assert "unknown backend" in capsys.readouterr().err
    assert main(["bench", "--looks", "blur:everywhere"]) == 2
    assert "region must be one of" in capsys.readouterr().err
    assert main(["bench", "--looks", "mona-lisa:background"]) == 2
    assert "not a style or effect" in capsys.readouterr().err


def test_nan_free_json(tiny_report: Path) -> None:
    text = (tiny_report / "report.json").read_text()
    assert "NaN" not in text and not any(isinstance(v, float) and math.isnan(v) for v in json.loads(text).values())
