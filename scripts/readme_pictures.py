"""Pictures for the README: demo frames as input | person mask | styled background | styled person.

.venv/bin/python scripts/readme_pictures.py docs/demo-frames.jpg
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from deepphoto.assets import demo_clip
from deepphoto.models.styles import style_names
from deepphoto.segmenter import Segmenter
from deepphoto.stream.composite import blend, feather
from deepphoto.stream.refine import guided_filter
from deepphoto.stream.sources import open_source
from deepphoto.stylizer import Stylizer


def main(out: Path, picks: tuple[int, ...] = (0, 55, 110), scale: int = 2) -> None:
    frames = [f.image for f in open_source(str(demo_clip()))]
    seg = Segmenter("onnx")
    names = style_names()
    paint = Stylizer("starry-night" if "starry-night" in names else names[0]) if names else None
    rows = []
    for i in picks:
        frame = cv2.resize(frames[i], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        alpha = feather(guided_filter(frame, seg(frame)), 0.5, 3)
        styled = paint(frame) if paint else cv2.GaussianBlur(frame, (31, 31), 0)
        mask = cv2.cvtColor((alpha * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        rows.append(
            np.hstack([frame, mask, blend(frame, styled, alpha, "background"), blend(frame, styled, alpha, "person")])
        )
    cv2.imwrite(str(out), np.vstack(rows))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/demo-frames.jpg"))
