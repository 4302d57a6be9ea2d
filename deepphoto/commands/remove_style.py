"""``deepphoto remove-style NAME``: remove a user style (one made by ``deepphoto add-style``)."""

from __future__ import annotations

import argparse

from deepphoto.errors import DeepPhotoError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="a user style (see 'deepphoto styles')")


def run(args: argparse.Namespace) -> int:
    from deepphoto.models.shipped import SHIPPED, style_names
    from deepphoto.models.user_styles import remove_user_style
    from deepphoto.settings import EFFECT_NAMES

    try:
        path = remove_user_style(args.name)  # a user style file of any name, an effect's too, goes
    except DeepPhotoError:  # 'no user style wave' said nothing of why
        kind = "a shipped style" if args.name in style_names(SHIPPED["stylenet"]) else None
        kind = kind or ("an effect" if args.name in EFFECT_NAMES else None)
        if kind is None:
            raise
        raise DeepPhotoError(
            f"{args.name!r} is {kind} of DeepPhoto, not a user style: it cannot be removed (only styles "
            "made by add-style can: see 'deepphoto styles')"
        ) from None
    print(f"removed user style {args.name!r} ({path})")
    return 0
