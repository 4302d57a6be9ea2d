"""Frames for the report and the README: input | person mask | styled background | styled person."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from deepphoto.segmenters.lightnet import LightNetSegmenter
from deepphoto.stream.composite import blend, feather
from deepphoto.stream.refine import guided_filter
from deepphoto.stream.sinks import write_image_atomic
from deepphoto.stream.sources import open_source


def frame_sheet(
    clip: Path,
    out: Path,
    picks: tuple[float, ...] = (0.0, 0.45, 0.9),
    style: str | None = None,
    panel_width: int = 400,
) -> Path:
    """Three frames of ``clip`` (at these fractions of its length), one row each, as JPEG; each
    panel at most ``panel_width`` pixels wide."""
    from deepphoto.models.shipped import style_names
    from deepphoto.stylizer import Stylizer

    frames = [f.image for f in open_source(str(clip))]
    seg = LightNetSegmenter("onnx")
    names = style_names()
    paint = Stylizer(style or ("starry-night" if "starry-night" in names else names[0])) if names else None
    rows = []
    for fraction in picks:
        frame = frames[min(len(frames) - 1, int(fraction * len(frames)))]
        alpha = feather(guided_filter(frame, seg(frame)), 0.5, 3)
        styled = paint(frame) if paint else cv2.GaussianBlur(frame, (31, 31), 0)
        mask = cv2.cvtColor((alpha * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        row = np.hstack([frame, mask, blend(frame, styled, alpha, "background"), blend(frame, styled, alpha, "person")])
        shrink = min(1.0, panel_width / frame.shape[1])
        rows.append(cv2.resize(row, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA) if shrink < 1 else row)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_image_atomic(out, np.vstack(rows), params=[cv2.IMWRITE_JPEG_QUALITY, 88])
    return out
