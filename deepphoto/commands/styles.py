"""``deepphoto styles``: the painting styles this installation can apply."""

from __future__ import annotations

import argparse

from deepphoto.models.paintings import PAINTINGS
from deepphoto.models.shipped import SHIPPED, style_names, user_styles_for
from deepphoto.settings import EFFECT_NAMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    titles = {s.name: s.title for s in PAINTINGS}
    mine = {s.name: s for s in user_styles_for()}  # those that fit the shipped network
    names = style_names()
    if names:
        print(f"styles (fast network {SHIPPED['stylenet'].name}; --style NAME, or blend 'a:0.7,b:0.3'):")
        for name in names:
            if name in mine:
                print(f"  {name:18} user style (add-style), after {mine[name].title}; {mine[name].path.parent}")
            else:
                print(f"  {name:18} {titles.get(name, '')}")
    else:
        print("no style networks installed")
    print(f"effects (--effect NAME): {', '.join(EFFECT_NAMES)}")
    return 0
