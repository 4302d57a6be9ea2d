"""The held-out photos the styles are judged on: validation splits only, fixed by file name.

Round robin over the validation splits of ``HELD_OUT_SETS`` (``deepphoto.datasets``: decided by the
file name alone, never trained on), each in sorted file order: the first eg-portrait, the first
full-figure fashion photo, the first selfie, the first portrait, then the second of each, and so
on. Any count from 2 up holds a head-and-shoulder portrait and a full-figure photo.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from deepphoto import datasets
from deepphoto.errors import DeepPhotoError

HELD_OUT_SETS = ("eg-portraits", "fashion", "selfies", "portraits")


def held_out_files(data: Path, count: int) -> list[tuple[str, Path]]:
    """``count`` validation photos as ('set/stem', path), in the fixed round-robin order."""
    if count < 1:
        raise DeepPhotoError(f"held-out images: {count}: give at least 1")
    splits = [[img for img, _ in datasets.pairs(name, "val", data)] for name in HELD_OUT_SETS]
    picked: list[tuple[str, Path]] = []
    for i in range(max(len(s) for s in splits)):
        for name, split in zip(HELD_OUT_SETS, splits):
            if i < len(split) and len(picked) < count:
                picked.append((f"{name}/{split[i].stem}", split[i]))
    return picked


def at_short_side(image: np.ndarray, short_side: int) -> np.ndarray:
    """The image scaled so its short side is ``short_side`` (area when shrinking)."""
    h, w = image.shape[:2]
    s = short_side / min(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return (
        image if size == (w, h) else cv2.resize(image, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    )


def held_out_photos(data: Path, count: int, short_side: int) -> list[tuple[str, np.ndarray]]:
    """``count`` held-out photos (``held_out_files``), BGR at short side ``short_side``."""
    return [(name, at_short_side(datasets.read_image(path), short_side)) for name, path in held_out_files(data, count)]
