"""Content and style images for the style network, and the fixed held-out evaluation set."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from deepphoto.frames import decode_file
from deepphoto.models.paintings import STYLE_SOURCES
from deepphoto.training.seg_data import is_validation, list_pairs

HELD_OUT_CLIPS = ("want.mkv", "sister.mkv")  # never trained on; evaluation frames come from these


def read_bgr(path: Path, short_side: int) -> np.ndarray:
    img = decode_file(path, cv2.IMREAD_COLOR)
    s = short_side / min(img.shape[:2])
    return cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)


def video_frames(path: Path, every: int, short_side: int) -> list[np.ndarray]:
    from deepphoto.stream.video_file import VideoFileSource

    src = VideoFileSource(path)
    try:
        out = []
        for i, frame in enumerate(src):
            if i % every == 0:
                img = frame.image
                s = short_side / min(img.shape[:2])
                out.append(
                    cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
                )
        return out
    finally:
        src.close()


def training_content(shared: Path, short_side: int = 288) -> list[np.ndarray]:
    """Portraits (training split), backgrounds and video frames, BGR, short side ``short_side``."""
    images = [
        read_bgr(img, short_side) for img, _ in list_pairs(shared / "seg" / "portraits") if not is_validation(img.stem)
    ]
    images += [read_bgr(p, short_side) for p in sorted((shared / "seg" / "cutouts" / "backgrounds").glob("*.jpg"))]
    for clip in sorted((shared / "video" / "asl_gestures").glob("*.mkv")):
        if clip.name not in HELD_OUT_CLIPS:
            images += video_frames(clip, 10, short_side)
    people = shared / "video" / "one-by-one-person-detection.mp4"
    if people.exists():
        images += video_frames(people, 40, short_side)
    return images


def evaluation_content(shared: Path, short_side: int = 480) -> list[tuple[str, np.ndarray]]:
    """The fixed held-out set: 6 validation portraits and 2 frames of each held-out clip."""
    items = [
        (img.stem, read_bgr(img, short_side))
        for img, _ in list_pairs(shared / "seg" / "portraits")
        if is_validation(img.stem)
    ][:6]
    for clip in HELD_OUT_CLIPS:
        frames = video_frames(shared / "video" / "asl_gestures" / clip, 30, short_side)
        items += [(f"{Path(clip).stem}-{i}", f) for i, f in enumerate(frames[:2])]
    return items


def style_images(shared: Path, short_side: int = 256) -> list[np.ndarray]:
    return [read_bgr(shared / "styles" / s.file, short_side) for s in STYLE_SOURCES]
