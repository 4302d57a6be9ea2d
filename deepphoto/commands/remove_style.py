"""``deepphoto remove-style NAME``: remove a user style (one made by ``deepphoto add-style``)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="a user style (see 'deepphoto styles')")


def run(args: argparse.Namespace) -> int:
    from deepphoto.models.user_styles import remove_user_style

    path = remove_user_style(args.name)
    print(f"removed user style {args.name!r} ({path})")
    return 0
