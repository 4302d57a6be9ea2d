"""Every number a look option defaults to is stated in its --help (a new user read 0.5, 0.7 and 3 in
the README and found no default in --help)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

import pytest

from deepphoto.commands import run as run_command


def _numeric_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if a.option_strings and isinstance(a.default, (int, float)) and not isinstance(a.default, bool)
    ]


@pytest.mark.parametrize("add", [run_command.add_look_arguments, run_command.add_arguments])
def test_numeric_defaults_are_in_the_help(add: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = argparse.ArgumentParser()
    add(parser)
    missing = []
    for action in _numeric_options(parser):
        text = (action.help or "").replace("%%", "%")
        if not re.search(rf"default:? {re.escape(format(action.default, 'g'))}\b", text):
            missing.append(f"{action.option_strings[-1]} (default {action.default:g}): {text!r}")
    assert not missing, "\n".join(missing)
