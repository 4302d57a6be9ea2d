"""Rough edges a README walkthrough found: ``bench-seg --no-peer`` beside ``bench --no-peers``;
range errors reading "must be above 0 to 1000"; "1 unreadable images skipped"; the run's /status
saying effect null for the default blur; ``serve --open`` doing nothing without a browser; ``edit``
on a photo whose mask parts nothing (a 1x1 one) saying nothing; ``edit --smooth`` taken and unused;
a virtual camera output drawing the progress bar before saying there is no virtual camera."""

from __future__ import annotations

import math
import sys
import webbrowser
from pathlib import Path

import numpy as np
import pytest
from adversarial import FAST, cli, refused, write_png

from deepphoto.batch.report import BatchReport, Outcome
from deepphoto.commands.cli import build_parser
from deepphoto.errors import DeepPhotoError
from deepphoto.pipeline import _composited_share
from deepphoto.settings import Settings, counted, number, whole
from deepphoto.stream.loop import RunSummary
from deepphoto.stream.sinks import check_sink, check_virtual_camera
from deepphoto.web import server
from deepphoto.web.camera import ControlLink
from deepphoto.web.control import ControlServer

# 1. --no-peers / --no-peer


@pytest.mark.parametrize(
    ("command", "positional", "dest"), [("bench", [], "no_peers"), ("bench-seg", ["d"], "no_peer")]
)
def test_both_benchmarks_take_both_spellings_of_no_peers(command: str, positional: list[str], dest: str) -> None:
    parser = build_parser(command)
    for spelling in ("--no-peers", "--no-peer"):
        assert getattr(parser.parse_args([command, *positional, spelling]), dest) is True
    assert getattr(parser.parse_args([command, *positional]), dest) is False
    sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    help_text = " ".join(sub.format_help().split())
    assert "--no-peers, --no-peer " in help_text  # the canonical spelling first, one option
    assert "[--no-peers]" in " ".join(sub.format_usage().split())


# 2. range errors in words


@pytest.mark.parametrize(
    ("low", "high", "low_open", "high_open", "value", "words"),
    [
        (0, 1000, True, False, 0, "must be above 0 and at most 1000"),
        (0, 1, False, False, 1.5, "must be from 0 to 1"),
        (0, 1, True, True, 1, "must be above 0 and below 1"),
        (0, 1, False, True, 1, "must be at least 0 and below 1"),
        (1, math.inf, False, False, 0, "must be at least 1"),
        (0, math.inf, True, False, 0, "must be above 0"),
        (-math.inf, 5, False, False, 6, "must be at most 5"),
        (-math.inf, 5, False, True, 5, "must be below 5"),
    ],
)
def test_a_number_out_of_range_is_told_in_plain_words(low, high, low_open, high_open, value, words) -> None:
    with pytest.raises(DeepPhotoError) as caught:
        number("--x", value, low, high, low_open=low_open, high_open=high_open)
    assert str(caught.value) == f"--x {value}: {words}"


def test_a_whole_number_without_an_upper_bound_is_told_at_least() -> None:
    with pytest.raises(DeepPhotoError) as caught:
        whole("--steps", -1, 0, 2**63 - 1)  # count("--steps", 0): no upper bound of its own
    assert str(caught.value) == "--steps -1: must be at least 0"
    with pytest.raises(DeepPhotoError) as caught:
        whole("--seed", 2**32, 0, 2**32 - 1)  # whole numbers in full, not 4.29497e+09
    assert str(caught.value) == f"--seed {2**32}: must be from 0 to {2**32 - 1}"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "synthetic://", "null://", "--fps", "0"], "--fps 0: must be above 0 and at most 1000"),
        (["eval-seg", "data", "--threshold", "1"], "--threshold 1: must be above 0 and below 1"),
        (["add-style", "painting.jpg", "--name", "x", "--steps", "-1"], "--steps -1: must be at least 0"),
    ],
)
def test_the_command_line_says_the_range_in_plain_words(capsys, argv: list[str], says: str) -> None:
    result = refused(capsys, *argv, says=says)
    assert " to 9223372036854775807" not in result.err and "above 0 to" not in result.err


# 3. counts agree with their nouns


def test_counted() -> None:
    assert counted(1, "unreadable image") == "1 unreadable image"
    assert counted(0, "frame") == "0 frames" and counted(2, "frame") == "2 frames"
    assert counted(1, "copy", "copies") == "1 copy" and counted(3, "copy", "copies") == "3 copies"


def test_a_runs_summary_says_one_thing_in_the_singular() -> None:
    one = RunSummary(None, frames_out=1, dropped=1, failed=1, bad_packets=1, unreadable=1, lost=1, seconds=1.0)
    line = one.line(segmented=1)
    for said in (
        "1 frame in",
        "1 stale frame dropped",
        "1 frame passed through after errors",
        "1 'camera lost' frame while",
        "1 damaged packet skipped",
        "1 unreadable image skipped",
    ):
        assert said in line, line
    two = RunSummary(None, frames_out=2, unreadable=2, seconds=1.0).line(segmented=2)
    assert "2 frames in" in two and "2 unreadable images skipped" in two, two


def test_a_batchs_summary_says_one_thing_in_the_singular() -> None:
    report = BatchReport([Outcome("a.jpg", "done", frames=1)], seconds=1.0, workers=1, retried=1, workers_lost=1)
    text = report.summary()
    assert text.startswith("1 input: 1 done") and "; 1 frame in" in text, text
    assert "on 1 worker;" in text or text.count("1 worker") == 2, text
    assert "1 call retried, 1 worker lost" in text, text


def test_run_on_a_folder_says_one_unreadable_image(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    write_png(folder / "a.png", np.full((24, 32, 3), 128, np.uint8))
    (folder / "b.png").write_bytes(b"not a png")
    result = cli(capsys, "run", folder, tmp_path / "out.png", *FAST, "--quiet", "--effect", "grey", "--region", "whole")
    assert result.status == 0, result.err
    assert "1 unreadable image skipped" in result.out and "1 frame in" in result.out, result.out


# 4. the run's /status tells the effect applied


@pytest.mark.parametrize(("look", "effect"), [({}, "blur"), ({"effect": "grey"}, "grey"), ({"style": "wave"}, None)])
def test_status_reports_the_effect_applied(look: dict, effect: str | None) -> None:
    from steered_runs import StandInPipe

    with ControlServer("127.0.0.1:0", StandInPipe(Settings(**look))) as control:  # type: ignore[arg-type]
        status = ControlLink("127.0.0.1", control.httpd.server_address[1]).status()
    assert status["settings"]["effect"] == effect
    assert status["settings"]["style"] == look.get("style")


# 5. serve --open without a browser


@pytest.mark.parametrize("browser", [lambda url: False, "raises"])
def test_open_without_a_browser_says_so_with_the_address(monkeypatch, capsys, browser) -> None:
    def none_there(url: str) -> bool:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "open", none_there if browser == "raises" else browser)
    assert server.open_in_browser("http://127.0.0.1:8000/") is False
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "no web browser could be opened" in err[0] and "http://127.0.0.1:8000/" in err[0], err


def test_open_with_a_browser_says_nothing(monkeypatch, capsys) -> None:
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    assert server.open_in_browser("http://127.0.0.1:8000/") is True
    assert opened == ["http://127.0.0.1:8000/"] and capsys.readouterr().err == ""


# 6. edit on a photo whose mask parts nothing


def test_the_share_told_is_the_composited_ones_where_that_parts_nothing() -> None:
    assert _composited_share(0.012, np.zeros((1, 1), np.float32)) == 0.0  # the network's few pixels gone
    assert _composited_share(0.7, np.ones((1, 1), np.float32)) == 1.0
    parted = np.array([[0.0, 1.0]], np.float32)
    assert _composited_share(0.3, parted) == 0.3  # a mask that parts something: the network's share
    assert _composited_share(None, None) is None and _composited_share(0.2, None) == 0.2


def test_edit_of_a_1x1_photo_says_its_region_parted_nothing(tmp_path: Path, capsys) -> None:
    """A 1x1 photo is all person or all background: the region chosen parts nothing, and the user
    is told which (it was painted or left as it was without a word)."""
    photo = write_png(tmp_path / "dot.png", np.full((1, 1, 3), 128, np.uint8))
    out = tmp_path / "out.png"
    engines = ["--backend", "onnx", "--precision", "fp32", "--threads", "1"]  # the network at its own input
    result = cli(capsys, "edit", photo, out, *engines, "--effect", "grey", "--region", "background")
    assert result.status == 0 and out.is_file(), result.err
    notes = [w for w in result.warnings if "no person found" in w or "100% of it taken as the person" in w]
    assert len(notes) == 1, result.err


# 7. edit --smooth


def test_edit_says_smooth_is_unused(tmp_path: Path, capsys) -> None:
    photo = write_png(tmp_path / "in.png", np.full((24, 32, 3), 90, np.uint8))
    given = cli(capsys, "edit", photo, tmp_path / "a.png", *FAST, "--effect", "grey", "--smooth", "0.5")
    assert given.status == 0 and (tmp_path / "a.png").is_file(), given.err
    assert any(w.startswith("deepphoto: warning: --smooth 0.5 left unused") for w in given.warnings), given.err
    plain = cli(capsys, "edit", photo, tmp_path / "b.png", *FAST, "--effect", "grey")
    assert plain.status == 0 and "--smooth" not in plain.err, plain.err
    bad = ["--smooth", "5"]
    refused(capsys, "edit", photo, tmp_path / "c.png", *FAST, *bad, says="smooth 5.0: must be from 0 to 0.95")


# 8. a virtual camera output is checked before any work


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback is Linux's")


@linux_only
def test_no_loopback_device_is_told_before_the_camera_opens(tmp_path: Path) -> None:
    pytest.importorskip("pyvirtualcam")
    sysfs = tmp_path / "class" / "video4linux"
    (tmp_path / "class").mkdir()
    with pytest.raises(DeepPhotoError, match="no virtual camera device: load v4l2loopback first"):
        check_virtual_camera(None, sysfs)  # no V4L2 device at all
    sysfs.mkdir()
    real = tmp_path / "devices" / "pci0000:00" / "video4linux" / "video0"
    real.mkdir(parents=True)
    (sysfs / "video0").symlink_to(real)
    with pytest.raises(DeepPhotoError, match="no virtual camera device"):
        check_virtual_camera(None, sysfs)  # a real camera only
    loop = tmp_path / "devices" / "virtual" / "video4linux" / "video1"
    loop.mkdir(parents=True)
    (sysfs / "video1").symlink_to(loop)
    check_virtual_camera(None, sysfs)  # a loopback device: opened on the first frame
    check_virtual_camera(None, tmp_path / "no-sysfs" / "video4linux")  # nothing to ask: the opening tells
    with pytest.raises(DeepPhotoError, match=f"no virtual camera device {tmp_path / 'video9'}: load v4l2loopback"):
        check_virtual_camera(str(tmp_path / "video9"), sysfs)


@linux_only
@pytest.mark.skipif(
    any(Path("/sys/devices/virtual/video4linux").glob("video*")), reason="this machine has a loopback device"
)
def test_run_to_a_virtual_camera_is_refused_before_the_progress_bar(capsys) -> None:
    absent = next(n for n in range(97, 200) if not Path(f"/dev/video{n}").exists())
    for uri in ("vcam://", f"vcam:///dev/video{absent}"):
        with pytest.raises(DeepPhotoError, match="virtual camera"):
            check_sink(uri)
        result = refused(capsys, "run", "synthetic://", uri, *FAST, "--effect", "grey", says="virtual camera")
        assert "frame/s" not in result.err and "lightnet" not in result.err, result.err  # no bar, no network
