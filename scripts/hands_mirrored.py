"""Which hands masks are mirrored left-right against their photo (a defect of the source data: the
white hands lie where the photo shows background, so training would learn person there).

A mask is called mirrored when the teacher ensemble's person label (``deepphoto label-teachers``'
cache) covers under 30% of its white pixels but over 70% of its mirror image's. Prints the stems,
for ``datasets._HANDS_MIRRORED``. Usage: ``python scripts/hands_mirrored.py [SHARED_DATA]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

from deepphoto.assets import cache_dir
from deepphoto.datasets import shared_data


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else shared_data()
    labels = cache_dir() / "teacher-labels" / "hands"
    mirrored, checked = [], 0
    for image in sorted((root / "seg/hands/images").glob("*.jpg")):
        mask_path, label_path = root / "seg/hands/masks" / f"{image.stem}.png", labels / f"{image.stem}.png"
        if not mask_path.exists() or not label_path.exists():
            continue
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127
        if mask.sum() < 200:  # too little hand to tell
            continue
        label = cv2.resize(cv2.imread(str(label_path), cv2.IMREAD_GRAYSCALE), mask.shape[::-1]) > 127
        checked += 1
        plain, flipped = (label & mask).sum() / mask.sum(), (label & mask[:, ::-1]).sum() / mask.sum()
        if plain < 0.3 and flipped > 0.7:
            mirrored.append(image.stem)
    print(f"{checked} masks checked, {len(mirrored)} mirrored:")
    print(" ".join(mirrored))


if __name__ == "__main__":
    main()
