"""``deepphoto add-style PAINTING --name NAME``: learn one more style from any painting, in minutes.

deepphoto add-style my-painting.jpg --name my-style              # 4 minutes (--minutes)
deepphoto edit photo.jpg out.jpg --style my-style                # then like any other style
deepphoto run /dev/video0 vcam:// --style my-style:0.5,wave:0.5  # blends too

The style is kept in the user's data folder (``deepphoto.models.user_styles``); learning it needs
PyTorch, using it does not. See ``deepphoto.training.add_style``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepphoto.commands.options import count, path, real
from deepphoto.errors import DeepPhotoError
from deepphoto.training.config import AddStyleConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = AddStyleConfig(Path("painting.jpg"), "name")
    p.add_argument("painting", type=path("PAINTING"), help="the painting (any image file)")
    p.add_argument("--name", required=True, help="the new style's name: lower-case letters, digits and '-'")
    p.add_argument(
        "--minutes",
        type=real("--minutes", 0.0, 24 * 60.0, low_open=True),
        default=d.minutes,
        help=f"time to spend, the teacher's paintings included (default {d.minutes:g})",
    )
    p.add_argument(
        "--steps", type=count("--steps", 0), default=d.steps, help="stop after N steps (default 0: the time decides)"
    )
    p.add_argument(
        "--images",
        type=count("--images", 1),
        default=d.images,
        help=f"content images the teacher paints (cached; default {d.images})",
    )
    p.add_argument(
        "--content",
        type=Path,
        default=d.content,
        help="a folder of photos or a video to learn on (default: the shared data's training images, "
        "else the demo footage)",
    )
    p.add_argument(
        "--batch", type=count("--batch", 1, 4096), default=d.batch, help=f"crops per step (default {d.batch})"
    )
    p.add_argument(
        "--crop", type=count("--crop", 16, 2048), default=d.crop, help=f"crop size (multiple of 8; default {d.crop})"
    )
    p.add_argument(
        "--texture-weight",
        type=real("--texture-weight", 0.0, 1e9),
        default=d.texture_weight,
        help=f"brush strokes: VGG features' Gram matrices against the teacher's (default {d.texture_weight:g})",
    )
    p.add_argument("--threads", type=count("--threads", 0, 256), default=d.threads, help="CPU threads (default 0: all)")
    p.add_argument("--seed", type=count("--seed", 0), default=d.seed, help=f"random seed (default {d.seed})")
    p.add_argument("--replace", action="store_true", help="replace a user style of that name")


def run(args: argparse.Namespace) -> int:
    from deepphoto.frames import check_painting, read_painting
    from deepphoto.models.shipped import SHIPPED, style_names
    from deepphoto.models.user_styles import check_name, styles_dir, writable_styles_dir
    from deepphoto.settings import EFFECT_NAMES

    config = AddStyleConfig(
        args.painting,
        args.name,
        minutes=args.minutes,
        steps=args.steps,
        images=args.images,
        content=args.content,
        batch=args.batch,
        crop=args.crop,
        texture_weight=args.texture_weight,
        threads=args.threads,
        seed=args.seed,
        replace=args.replace,
    )
    shipped = style_names(SHIPPED["stylenet"])
    if args.name in shipped or args.name in EFFECT_NAMES:
        raise DeepPhotoError(f"style name {args.name!r} is a shipped style or effect: choose another name")
    check_name(args.name)
    if not args.replace and (styles_dir() / f"{args.name}.safetensors").exists():  # a damaged one too
        raise DeepPhotoError(f"user style {args.name!r} exists: add --replace, or 'deepphoto remove-style {args.name}'")
    painting = read_painting(args.painting)  # unreadable, empty, not an image: one line
    check_painting(painting, args.painting, "learn a style from")  # as edit --style-image checks it
    if args.content is not None and not args.content.exists():
        raise DeepPhotoError(f"{args.content}: no such file or folder")

    from deepphoto.training.add_style import add_style  # PyTorch from here on

    writable_styles_dir()  # before the minutes of learning, not after them
    done = add_style(config, painting)
    kept = (
        f"kept step {done.kept_step}, the best on held-out images (loss {done.held_out:.4f})"
        if done.held_out is not None
        else f"kept step {done.kept_step}, the last (no image to hold out)"
    )
    print(
        f"added style {args.name!r}: {done.steps} steps in {done.seconds / 60:.1f} min, loss "
        f"{done.loss_start:.4f} -> {done.loss_end:.4f} (started from {done.init}); {kept}; {done.path}\n"
        f"use it: deepphoto edit photo.jpg out.jpg --style {args.name}"
    )
    return 0
