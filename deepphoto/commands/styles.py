"""``deepphoto styles``: the painting styles this installation can apply."""

from __future__ import annotations

import argparse

from deepphoto.models.paintings import STYLE_SOURCES
from deepphoto.models.shipped import SHIPPED, style_names
from deepphoto.settings import EFFECT_NAMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    titles = {s.name: s.title for s in STYLE_SOURCES}
    names = style_names()
    if names:
        print(f"styles (fast network {SHIPPED['stylenet'].name}; --style NAME, or blend 'a:0.7,b:0.3'):")
        for name in names:
            print(f"  {name:18} {titles.get(name, '')}")
    else:
        print("no style networks installed")
    print(f"effects (--effect NAME): {', '.join(EFFECT_NAMES)}")
    return 0
