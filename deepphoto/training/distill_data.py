"""Batches for distillation: crops of cached content and, at the same place, of the teacher's painting.

The pairs come from ``deepphoto.teachers.paintings`` (``deepphoto paint-teacher``), which paints
TRAIN content only. Files are read when drawn (thousands of pairs per style do not fit in memory;
the operating system caches what is read often).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import decode_file


class PairedCrops:
    """``pairs[i]``: the (content, painting) files of style ``i``; ``batch`` draws a style per sample."""

    def __init__(self, pairs: Sequence[Sequence[tuple[Path, Path]]], names: Sequence[str]) -> None:
        empty = [n for n, p in zip(names, pairs) if not p]
        if empty:
            raise DeepPhotoError(
                f"no teacher paintings of {', '.join(empty)}: run 'deepphoto paint-teacher --styles {','.join(empty)}'"
            )
        self.pairs = [list(p) for p in pairs]
        self.names = list(names)

    @classmethod
    def from_cache(cls, cache: object, names: Sequence[str]) -> PairedCrops:
        """From a ``deepphoto.teachers.paintings.PaintingCache``."""
        return cls([cache.pairs(n) for n in names], names)  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return sum(len(p) for p in self.pairs)

    def batch(
        self, rng: np.random.Generator, n: int, crop: int, styles: Sequence[int] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(content, teacher) RGB in [0, 1] of shape (n, 3, crop, crop), and each sample's style
        index; styles uniformly drawn (or ``styles`` as given), then a pair of that style."""
        idx = np.asarray(styles if styles is not None else rng.integers(0, len(self.pairs), n), np.int64)
        xs, ts = [], []
        for i in idx:
            content, painting = self.pairs[i][rng.integers(len(self.pairs[i]))]
            x, t = paired_crop(decode_file(content), decode_file(painting), crop, rng)
            xs.append(x)
            ts.append(t)
        return to_tensor(xs), to_tensor(ts), torch.from_numpy(idx)


def paired_crop(
    content: np.ndarray, painting: np.ndarray, crop: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The same ``crop`` x ``crop`` window of both (scaled up together first when a side is
    shorter), flipped together half the time; RGB."""
    if content.shape != painting.shape:
        raise DeepPhotoError(f"content {content.shape[:2]} and painting {painting.shape[:2]} differ in size")
    h, w = content.shape[:2]
    if min(h, w) < crop:
        s = crop / min(h, w)
        size = (max(crop, round(w * s)), max(crop, round(h * s)))
        content = cv2.resize(content, size, interpolation=cv2.INTER_CUBIC)
        painting = cv2.resize(painting, size, interpolation=cv2.INTER_CUBIC)
        h, w = content.shape[:2]
    y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    a, b = content[y : y + crop, x : x + crop], painting[y : y + crop, x : x + crop]
    if rng.random() < 0.5:
        a, b = a[:, ::-1], b[:, ::-1]
    return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_BGR2RGB), cv2.cvtColor(
        np.ascontiguousarray(b), cv2.COLOR_BGR2RGB
    )


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
