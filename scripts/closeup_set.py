"""Close-up views of the validation photos (issue 15 and 19): what a zoomed or close webcam shows.

For every validation pair of the full-person sets and fashion (the fixed split by file name,
never trained on), three crops of a quarter of the photo (half its width and height): centred on
the top of the person's box (a head, a half face at the edge), on the mask's centre (a torso
without a head), and on the box's right edge (half a person). Written as images/ and masks/ for
``deepphoto bench-seg FOLDER``.

    python scripts/closeup_set.py /tmp/closeups && deepphoto bench-seg /tmp/closeups --split all
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from deepphoto import datasets

SETS = ("portraits", "eg-portraits", "selfies", "fashion")


def crops(truth: np.ndarray) -> dict[str, tuple[int, int]]:
    """Centres (y, x) of the three views of one photo's person mask."""
    ys, xs = np.nonzero(truth)
    top, left, right = int(ys.min()), int(xs.min()), int(xs.max())
    middle_x = (left + right) // 2
    return {"head": (top, middle_x), "torso": (int(ys.mean()), int(xs.mean())), "edge": (int(ys.mean()), right)}


def main(out: Path) -> None:
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    count = 0
    for name in SETS:
        for image, mask in datasets.pairs(name, "val", datasets.shared_data()):
            img, truth = datasets.read_pair(image, mask)
            if truth.sum() < 0.02 * truth.size:
                continue  # too little person to close in on
            h, w = truth.shape
            ch, cw = h // 2, w // 2
            for view, (cy, cx) in crops(truth).items():
                y = int(np.clip(cy - ch // 2, 0, h - ch))
                x = int(np.clip(cx - cw // 2, 0, w - cw))
                stem = f"{name}--{image.stem}--{view}"
                cv2.imwrite(str(out / "images" / f"{stem}.png"), img[y : y + ch, x : x + cw])
                cv2.imwrite(
                    str(out / "masks" / f"{stem}.png"), (truth[y : y + ch, x : x + cw] > 0).astype(np.uint8) * 255
                )
                count += 1
    print(f"wrote {count} close-up views to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/closeups"))
