"""Every numeric option of every command: 'nan', 'inf', an overflow and an out-of-range value are
refused with status 2 and one line naming the option, before any work (no file is opened)."""

from __future__ import annotations

import argparse

import pytest
from adversarial import RUN_FAST, cli, refused
from media import make_clip

from deepphoto.commands.cli import COMMANDS, build_parser

# the commands whose options this suite checks, with the positional arguments they need
POSITIONALS = {
    "run": ["in.mp4", "out.mp4"],
    "edit": ["in.jpg", "out.png"],
    "demo": [],
    "soak": [],
    "bench": [],
    "bench-pipeline": [],
    "bench-seg": ["data"],
    "eval-seg": ["data"],
    "eval-style": [],
    "train-seg": [],
    "train-style": [],
    "paint-teacher": [],
    "add-style": ["painting.jpg", "--name", "mine"],
    "build-engine": ["lightnet"],
    "export": ["lightnet"],
}


def numeric_options(command: str) -> list[tuple[str, argparse.Action]]:
    """(option, action) of each option of ``command`` that takes a number, a size or numbers."""
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    found = []
    for action in sub._actions:
        if not action.option_strings:
            continue
        numeric = action.type in (int, float) or getattr(action.type, "validated", False)
        numeric = numeric or (isinstance(action.default, (int, float)) and not isinstance(action.default, bool))
        if numeric:
            found.append((action.option_strings[-1], action))
    return found


CASES = [
    (command, option, value)
    for command in POSITIONALS
    for option, _ in numeric_options(command)
    for value in ("nan", "inf", "1e999", "-1")
]


def test_every_command_in_scope_exists():
    assert set(POSITIONALS) <= set(COMMANDS)


@pytest.mark.parametrize("command", sorted(POSITIONALS))
def test_no_numeric_option_is_read_unchecked(command):
    """Each numeric option goes through deepphoto.commands.options (finite, in range, named)."""
    bare = [option for option, action in numeric_options(command) if action.type in (int, float, None)]
    assert not bare, f"{command}: {bare} read with a bare int/float; use deepphoto.commands.options"


@pytest.mark.parametrize("command,option,value", CASES, ids=[f"{c} {o}={v}" for c, o, v in CASES])
def test_numeric_option_refused(capsys, tmp_path, monkeypatch, command, option, value):
    monkeypatch.chdir(tmp_path)  # nothing may be written; anything that is would show up here
    result = cli(capsys, command, *POSITIONALS[command], f"{option}={value}")
    assert result.status == 2 and len(result.errors) == 1, result.err
    named = option.lstrip("-")
    assert named in result.errors[0] or named.replace("-", " ") in result.errors[0], result.errors[0]
    assert result.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv,says",
    [
        (["--fps", "0"], "--fps 0: must be above 0"),
        (["--size", "100000x100000"], "each side must be from 1 to 8192"),
        (["--size", "0x480"], "each side must be from 1 to 8192"),
        (["--size", "nanxnan"], "expected WIDTHxHEIGHT"),
        (["--max-frames", "-1"], "--max-frames -1"),
        (["--max-frames", "2.5"], "--max-frames '2.5': must be a whole number"),
        (["--feather", "100000"], "feather 100000: must be from 0 to 64"),
        (["--seg-input", "33x33"], "multiples of 32"),
        (["--style", "wave:nan"], "the blend amount must be a finite number"),
        (["--style", "wave:-1,udnie:2"], "the blend amount must be a finite number, 0 or more"),
        (["--style", "wave:0"], "must add up to more than 0"),
        (["--style", "wave:inf"], "the blend amount must be a finite number"),
        (["--style", ":1"], "name a style"),
    ],
)
def test_run_refuses_before_touching_anything(capsys, tmp_path, argv, says):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    before = clip.read_bytes()
    out = tmp_path / "out.mp4"
    refused(capsys, "run", clip, out, *RUN_FAST, *argv, says=says)
    assert not out.exists() and clip.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


@pytest.mark.parametrize(
    "argv,says",
    [
        (["soak", "--minutes", "0"], "--minutes 0: must be above 0"),
        (["soak", "--fps", "0"], "--fps 0: must be above 0"),
        (["soak", "--minutes", "nan"], "--minutes nan: must be a finite number"),
        (["bench-pipeline", "--live-seconds", "0"], "--live-seconds 0: must be above 0"),
        (["edit", "a.jpg", "b.png", "--method", "optimize", "--style", "wave", "--size", "-5"], "--size -5"),
        (["edit", "a.jpg", "b.png", "--size", "-5"], "--size -5"),
        (["edit", "a.jpg", "b.png", "--size", "256"], "give it with --method optimize"),  # was ignored
        (["export", "lightnet", "--onnx", "x.onnx", "--note", "no-equals-sign"], "expected KEY=VALUE"),
        (["train-style", "--crop", "100"], "--crop 100: must be a multiple of 8"),
        (["train-seg", "--lr", "0"], "--lr 0"),
        (["eval-style", "--optimize-iterations", "150"], "give 2 whole numbers"),
        (["bench-seg", "data", "--input-sizes", "352x352,big"], "expected WIDTHxHEIGHT"),
    ],
)
def test_other_commands_refuse_before_any_work(capsys, tmp_path, monkeypatch, argv, says):
    monkeypatch.chdir(tmp_path)
    result = refused(capsys, *argv, says=says)
    assert result.out == "" and list(tmp_path.iterdir()) == []


def test_a_valid_blend_still_runs(capsys, tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=2, size=(64, 48))
    out = tmp_path / "out.mp4"
    from deepphoto.models.shipped import style_names

    a, b = style_names()[:2]
    result = cli(capsys, "run", clip, out, *RUN_FAST, "--style", f"{a}:0.7,{b}:0.3", "--style-scale", "1")
    assert result.status == 0 and out.exists()


@pytest.mark.parametrize("radius", [24, 40, 64])
def test_the_widest_feather_is_a_gaussian_blur_done_cheaply(radius):
    """--feather up to 64 is blurred at a reduced size (cost independent of the radius): the edge
    it gives matches OpenCV's full-size Gaussian blur of 2*radius+1 pixels within 2%."""
    import cv2
    import numpy as np

    from deepphoto.stream.composite import feather

    person = np.zeros((360, 640), np.float32)
    cv2.circle(person, (320, 200), 120, 1.0, -1)
    cv2.rectangle(person, (40, 40), (90, 300), 1.0, -1)
    full = cv2.GaussianBlur(person, (2 * radius + 1, 2 * radius + 1), 0)
    got = feather(person, 0.5, radius)
    assert got.shape == person.shape and got.dtype == np.float32
    assert np.abs(got - full).max() < 0.02 and np.abs(got - full).mean() < 0.003
