"""Hunt 31 (cliux): the command line as a new user meets it, in the environments users have."""

from __future__ import annotations

import pytest

# ---------------------------------------------------------------- a name that is not UTF-8, on Ray


def test_a_batch_whose_command_line_names_a_file_that_is_not_utf8_starts_ray(monkeypatch):
    """`deepphoto batch $'v\\xfe.mp4' --out styled`: Ray records the command line (from /proc) as the
    job's entrypoint, a UTF-8 string, and every such batch failed as 'cannot start or reach Ray'."""
    pytest.importorskip("ray")
    import ray
    import ray._private.utils as ray_utils

    from deepphoto.batch import cluster

    command_line = "deepphoto batch v" + b"\xfe".decode("utf-8", "surrogateescape") + ".mp4 --out styled"
    recorded: list[bytes] = []

    def init(**kwargs: object) -> None:  # Ray's own: the entrypoint goes into a protobuf string
        recorded.append(ray._private.utils.get_entrypoint_name().encode("utf-8"))

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray_utils, "get_entrypoint_name", lambda: command_line)
    assert cluster.connect(None)
    assert recorded == [b"deepphoto batch v\\xfe.mp4 --out styled"]
    assert ray_utils.get_entrypoint_name() == command_line  # Ray's own again afterwards


# ---------------------------------------------------------------- a typo answered with the name meant


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["rum", "clip.mp4", "out.mp4"], "unknown command 'rum': did you mean 'run'? (see deepphoto --help)"),
        (["styls"], "unknown command 'styls': did you mean 'styles'?"),
        (["edit", "in.jpg", "out.jpg", "--regoin", "person"], "--regoin person; did you mean --region? (see"),
        (["edit", "in.jpg", "out.jpg", "--regoin=person", "--stlye", "x"], "did you mean --region, --style? (see"),
        (["run", "in.mp4", "out.mp4", "--qiet"], "unrecognized arguments: --qiet; did you mean --quiet?"),
        (
            ["edit", "in.jpg", "out.jpg", "--region", "backround"],
            "unknown region 'backround': did you mean 'background'?",
        ),
        (["edit", "in.jpg", "out.jpg", "--region", "Person"], "unknown region 'Person': did you mean 'person'?"),
        (["edit", "in.jpg", "out.jpg", "--effect", "gray"], "unknown effect 'gray': did you mean 'grey'?"),
    ],
)
def test_a_misspelt_name_is_answered_with_the_one_meant(argv, says, capsys):
    """`deepphoto rum`, `--regoin`, `--region backround`: the message listed what is valid (22
    commands for 'rum') but not the one a letter away."""
    from deepphoto.commands.cli import main

    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert says in err
    assert err.count("\n") == 1


def test_an_option_is_not_suggested_for_its_dashes_alone(capsys):
    from deepphoto.commands.cli import main

    with pytest.raises(SystemExit):
        main(["edit", "in.jpg", "out.jpg", "--out", "x"])
    assert capsys.readouterr().err == "deepphoto: error: unrecognized arguments: --out x (see deepphoto edit --help)\n"


def test_a_command_far_from_any_lists_them(capsys):
    from deepphoto.commands.cli import main

    with pytest.raises(SystemExit):
        main(["xyz"])
    assert "unknown command 'xyz': choose from assets, demo, run," in capsys.readouterr().err


@pytest.mark.parametrize(
    ("style", "meant"),
    [
        ("stary-night", "starry-night"),
        ("Starry Night", "starry-night"),
        ("starry_night", "starry-night"),
        ("Wave", "wave"),
    ],
)
def test_a_misspelt_style_is_answered_with_the_one_meant(style, meant):
    from deepphoto.errors import DeepPhotoError
    from deepphoto.models.shipped import style_vector

    with pytest.raises(DeepPhotoError, match=rf"unknown style '{style}': did you mean '{meant}'\? \(choose from"):
        style_vector(style, ["starry-night", "scream", "wave"])


def test_a_name_far_from_any_keeps_the_plain_message():
    from deepphoto.errors import DeepPhotoError
    from deepphoto.models.shipped import style_vector

    with pytest.raises(DeepPhotoError, match=r"^unknown style 'sky': choose from starry-night, wave$"):
        style_vector("sky", ["starry-night", "wave"])


# ---------------------------------------------------------------- --version


def test_version_says_the_version(capsys):
    """`deepphoto --version` (what a bug report asks for) said 'the following arguments are
    required: COMMAND', status 2."""
    import re
    from pathlib import Path

    from deepphoto.commands.cli import main

    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'(?m)^version = "(.+)"', pyproject)[1]
    assert capsys.readouterr().out == f"deepphoto {version}\n"


# ---------------------------------------------------------------- defaults said in the help


@pytest.mark.parametrize("command", ["add-style", "serve", "demo"])
def test_every_number_with_a_default_says_it_in_its_help(command):
    """`deepphoto add-style --help` gave no default for --images (36), --batch (4), --crop (128) or
    --seed (no help at all); a default said in the help is the parser's own."""
    import re

    from deepphoto.commands.cli import build_parser

    parser = build_parser(command)
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        if not action.option_strings or action.nargs == 0:
            continue
        if isinstance(action.default, (int, float)) and not isinstance(action.default, bool):
            said = re.findall(r"default ([0-9.]+)", action.help or "")
            assert said, f"{command} {action.option_strings[0]}: no default in its help ({action.help!r})"
            assert float(said[0]) == float(action.default), f"{command} {action.option_strings[0]}"


def test_edit_help_says_which_method_is_the_default():
    from deepphoto.commands.cli import build_parser

    parser = build_parser("edit")
    method = next(a for a in parser._actions if a.dest == "command").choices["edit"]._option_string_actions["--method"]
    assert method.default == "fast"
    assert "fast: the style network (default)" in method.help


# ---------------------------------------------------------------- the batch table with wide names


def test_the_batch_table_keeps_its_columns_after_wide_names():
    """`deepphoto batch 日本/ --out styled`: the table padded names by their length in characters,
    and a CJK character or an emoji takes two columns: every later column went askew."""
    import unicodedata

    from deepphoto.batch.report import BatchReport, Outcome

    def shown_width(text: str) -> int:  # a terminal's columns
        return sum(0 if unicodedata.combining(c) else 1 + (unicodedata.east_asian_width(c) in "WF") for c in text)

    names = ["in/日本.mp4", "in/é.jpg", "in/e\u0301te.jpg", "in/😀.jpg", "in/plain.jpg"]
    report = BatchReport([Outcome(n, "done", "/out/x.png", frames=1, seconds=0.1) for n in names])
    lines = report.table().splitlines()[: len(names) + 1]
    ends = {
        shown_width(line[: line.index("0.1") + 3 if i else line.index("seconds") + 7]) for i, line in enumerate(lines)
    }
    assert len(ends) == 1, lines
    assert shown_width("日本😀e\u0301") == 7


# ---------------------------------------------------------------- a terminal of 0 columns


def _terminal_output(argv: list[str], monkeypatch) -> str:
    """What ``deepphoto argv`` draws on a pseudo-terminal nobody sized (0 by 0, as 'ssh -tt' from a
    script, 'unbuffer' or 'script' give)."""
    import os
    import sys

    from deepphoto.commands.cli import main

    master, slave = os.openpty()
    assert tuple(os.get_terminal_size(slave)) == (0, 0)
    terminal = open(slave, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    try:
        assert main(argv) == 0
        terminal.flush()
        os.set_blocking(master, False)
        drawn = b""
        while True:
            try:
                part = os.read(master, 65536)
            except (BlockingIOError, OSError):
                break
            if not part:
                break
            drawn += part
    finally:
        terminal.close()
        os.close(master)
    return drawn.decode("utf-8", "replace")


def test_a_run_on_a_terminal_of_no_size_still_shows_its_progress(monkeypatch, capsys):
    """`ssh -tt host deepphoto run ...` from a script: the terminal says it is 0 columns wide, and
    tqdm drew an empty bar: a long job showed no progress at all."""
    drawn = _terminal_output(["run", "synthetic://", "null://", "--max-frames", "12", "--effect", "grey"], monkeypatch)
    assert "12/12" in drawn
    assert max(len(line) for line in drawn.replace("\r", "\n").splitlines()) <= 80


def test_a_terminal_of_no_size_takes_columns_from_the_environment(monkeypatch):
    import os
    import sys

    from deepphoto.errors import bar_width

    master, slave = os.openpty()
    with open(slave, "w", encoding="utf-8") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        monkeypatch.setenv("COLUMNS", "40")
        monkeypatch.setenv("LINES", "10")
        assert bar_width() == {"ncols": 40, "nrows": 10}
    os.close(master)


# ---------------------------------------------------------------- options after '--'


def test_options_after_a_double_dash_are_said_to_belong_before_it(capsys):
    """`deepphoto run -- -x.mp4 out.mp4 --style wave` (a file named with a dash, as the message
    for '-x.mp4' alone suggests) said only 'unrecognized arguments: --style wave', an option run has."""
    from deepphoto.commands.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--", "-x.mp4", "out.mp4", "--style", "wave"])
    err = capsys.readouterr().err
    assert (
        "unrecognized arguments: --style wave; after '--' every word is a file name: give the options before it" in err
    )
    with pytest.raises(SystemExit):
        main(["run", "--", "-x.mp4", "out.mp4", "extra"])
    assert "after '--'" not in capsys.readouterr().err
