"""Hunt 35 (docs): a new user reading the README top to bottom and trying what it shows.

``tests/test_hunt31_docs.py`` already checks that every link resolves, that every command line of the
docs parses and that every option named exists; ``tests/test_help_defaults_s18.py`` and
``test_hunt29_newuser.py`` that run, edit and batch say their defaults in --help. What was still wrong:
the other commands a user types from the README (bench, soak, bench-pipeline, eval-seg, bench-seg)
and ``--precision`` of every pipeline command kept their defaults to themselves (``deepphoto bench
--help``: "--out OUT  report folder", where the README says the default is ``bench-report/``)."""

from __future__ import annotations

import argparse
import re

import pytest

from deepphoto.commands.cli import COMMANDS, build_parser

# training and model-making commands: offline tools of the Development section, not checked here
OFFLINE = {"train-seg", "train-style", "label-teachers", "paint-teacher", "export", "eval-style"}
USER_COMMANDS = sorted(set(COMMANDS) - OFFLINE)


def _sub(command: str) -> argparse.ArgumentParser:
    parser = build_parser(command)
    return next(a for a in parser._actions if a.dest == "command").choices[command]


def _said(value: object) -> str:
    return format(value, "g") if isinstance(value, (int, float)) else str(value)


@pytest.mark.parametrize("command", USER_COMMANDS)
def test_every_default_of_a_users_command_is_in_its_help(command: str):
    missing = []
    for action in _sub(command)._actions:
        default = action.default
        if not action.option_strings or action.help in (None, argparse.SUPPRESS) or action.nargs == 0:
            continue
        if default is None or isinstance(default, bool) or default in ([], ()):
            continue
        said = re.escape(_said(default))
        text = action.help.replace("%%", "%")
        if action.dest == "style_scale":  # states both: 0.75 for video, 1 for photos
            continue
        if not re.search(rf"default:? {said}(?![\w.])|(?<![\w-]){said}:? [^;]*?\(default\)", text):
            missing.append(
                f"deepphoto {command} {action.option_strings[0]} (default {_said(default)}): {action.help!r}"
            )
    assert not missing, "\n".join(missing)


def test_serve_ended_by_sighup_ends_as_ctrl_c_does(monkeypatch):
    """README: 'Ctrl-C, SIGTERM and SIGHUP (terminal closed, ssh dropped) end any command alike:
    status 130'. 'deepphoto serve' ended so by Ctrl-C and SIGTERM ('deepphoto: interrupted', 130),
    but by SIGHUP with status 0 and not a word: its own SIGHUP handler stopped the server and kept
    the signal from the command line. The hang-up now reaches the command line's handler."""
    import os
    import signal
    import time

    import deepphoto.web.server as server
    from deepphoto.stream.stopping import ending_signals
    from deepphoto.web.app import StudioConfig

    class Served:
        should_exit = False

        def run(self, sockets: list) -> None:
            os.kill(os.getpid(), signal.SIGHUP)  # the terminal closed while it serves
            time.sleep(0.05)

    served = Served()
    monkeypatch.setattr(server, "uvicorn_server", lambda app, tls=None: served)
    stopped = False
    try:
        with ending_signals():
            server.serve(StudioConfig(warm=False), 0)
            time.sleep(0.05)
    except KeyboardInterrupt:
        stopped = True
    assert served.should_exit, "the studio did not stop on SIGHUP"
    assert stopped, "SIGHUP did not reach the command line: 'deepphoto serve' exits 0, saying nothing"


def test_the_readmes_python_example_runs_as_written(tmp_path):
    """The README's library example, run verbatim in a folder holding the talk.mp4 and me.jpg it
    names (a small clip with sound, a stand-in portrait): no test ran it, and 34 hunts edited it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import av
    import cv2
    from conftest import stand_in_photo
    from media import make_clip

    root = Path(__file__).resolve().parent.parent
    blocks = re.findall(r"```python\n(.*?)```", (root / "README.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1 and "Pipeline(settings)" in blocks[0], "the README's Python example changed"
    make_clip(tmp_path / "talk.mp4", frames=8, size=(128, 96), audio=True)
    cv2.imwrite(str(tmp_path / "me.jpg"), stand_in_photo(120, 90))
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", blocks[0]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "8 frames" in done.stdout and "talk-wave.mp4" in done.stdout, done.stdout
    with av.open(str(tmp_path / "talk-wave.mp4")) as made:  # 'audio kept', as the comment says
        assert [s.type for s in made.streams] == ["video", "audio"]
        assert sum(1 for _ in made.decode(video=0)) == 8


def test_no_table_cell_of_the_readme_has_grown_into_a_page():
    """34 hunts each added a clause to the input/output table: the video file's output cell had
    grown to 2,192 characters and the photo's input cell to 1,538, one narrow column pages long on
    GitHub. The details now sit in lists under the table; a cell stays readable."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    long = [
        f"README.md:{number}: a cell of {len(cell)} characters: {cell[:60]}..."
        for number, line in enumerate(readme.splitlines(), 1)
        if line.startswith("|")
        for cell in line.strip().strip("|").split(" | ")
        if len(cell.strip()) > 700
    ]
    assert not long, "\n".join(long)


def test_the_add_style_example_names_the_painting_where_assets_put_it(tmp_path, monkeypatch):
    """README: "`deepphoto add-style pearl.png --name pearl-earring` took 4 min 3 s", the painting
    'fetched by deepphoto assets': copied as written it said 'pearl.png: no such file', and nothing
    said where the painting had been put. The example now names the cache's file."""
    from pathlib import Path

    from deepphoto import assets

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("DEEPPHOTO_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"`deepphoto add-style (\S+) --name pearl-earring`", readme)
    assert shown, "the README's add-style example of the Pearl Earring is gone"
    where = assets.cache_dir() / "assets" / Path(assets.EXAMPLE_PAINTING.member).name
    for path in shown:
        assert Path(path).expanduser() == where, f"README: add-style {path}; deepphoto assets writes {where}"


def test_the_run_synopsis_shows_each_default_first():
    """The README's 'deepphoto run' synopsis shows a default as a value ('[--feather 3]') or first
    of the choices ('[--backend auto|onnx|...]', '[--segmenter lightnet|mediapipe]'), but listed
    '[--region whole|background|person]', and nothing in the README says the default region is
    the background: a user took 'whole' for it. Each option's first value is now its default."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    synopsis = re.search(r"```bash\n(deepphoto run INPUT OUTPUT .*?)\ndeepphoto edit", readme, re.S)
    assert synopsis, "the README's run synopsis is gone"
    defaults = {
        a.option_strings[0]: a.default for a in _sub("run")._actions if a.option_strings and a.default is not None
    }
    shown = re.findall(r"\[(--[a-z-]+) ([\w.]+)(?:\|[\w|]+)?\]", synopsis.group(1))
    assert len(shown) >= 6, shown
    wrong = [
        f"[{o} {first}...]: the default is {_said(defaults[o])}"
        for o, first in shown
        if o in defaults and _said(defaults[o]) != first
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_serve_keeps_ignoring_a_signal_it_was_started_to_ignore(sig):
    """README: 'one the command was started to ignore stays ignored'. A script's 'deepphoto serve &'
    (a shell without job control starts a background job with SIGINT ignored): the script's Ctrl-C
    stopped the studio too, status 0, since uvicorn takes SIGINT and SIGTERM whatever their
    handler. 'deepphoto run' keeps them ignored (tests/test_hunt33_interrupts.py); serve now too."""
    import signal

    from deepphoto.web.server import uvicorn_server

    number = getattr(signal, sig)
    previous = signal.signal(number, signal.SIG_IGN)
    try:
        server = uvicorn_server(lambda scope, receive, send: None)
    finally:
        signal.signal(number, previous)
    server.handle_exit(number, None)
    assert not server.should_exit, f"serve started with {sig} ignored stopped on it"
    other = signal.SIGTERM if number == signal.SIGINT else signal.SIGINT
    server.handle_exit(other, None)  # the other one still stops it
    assert server.should_exit
