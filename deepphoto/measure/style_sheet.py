"""The picture sheet of ``eval-style``: content | painting | teacher | StyleNet | optimiser.

One row per style and sheet photo (a portrait and a full-figure photo by default), a header naming
the columns, the style and photo at the left of each row, and under each picture the numbers it is
judged by. Every picture is fitted whole into its tile (a full figure keeps its feet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from deepphoto.frames import letterbox
from deepphoto.stream.sinks import write_image_atomic

TILE = (200, 266)  # width, height of one picture
CAPTION, LABEL_WIDTH, HEADER = 20, 150, 26
COLUMNS = ("content", "painting", "teacher (Magenta)", "StyleNet", "optimiser")
WHITE, GREY = (255, 255, 255), (225, 225, 225)
MAX_BYTES = 1_200_000  # the JPEG's quality is lowered until it fits


@dataclass
class SheetRow:
    style: str
    photo: str
    pictures: list[np.ndarray | None]  # one per column; None: a blank tile with ``captions``' text
    captions: list[str] = field(default_factory=lambda: [""] * len(COLUMNS))


def fit(image: np.ndarray, size: tuple[int, int] = TILE) -> np.ndarray:
    """The whole image scaled into ``size`` and centred on white."""
    return letterbox(image, size, WHITE)


def text_band(text: str, width: int, height: int, scale: float = 0.42, colour: tuple = WHITE) -> np.ndarray:
    band = np.full((height, width, 3), colour, np.uint8)
    for i, line in enumerate(text.split("\n")):
        y = height - 6 if "\n" not in text else 16 + 17 * i
        cv2.putText(band, line, (5, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return band


def cell(picture: np.ndarray | None, caption: str) -> np.ndarray:
    tile = fit(picture) if picture is not None else np.full((TILE[1], TILE[0], 3), GREY, np.uint8)
    return np.vstack([tile, text_band(caption, TILE[0], CAPTION)])


def build_sheet(rows: list[SheetRow]) -> np.ndarray:
    header = np.hstack(
        [text_band("style / photo", LABEL_WIDTH, HEADER, 0.5, GREY)]
        + [text_band(c, TILE[0], HEADER, 0.5, GREY) for c in COLUMNS]
    )
    lines = [header]
    for row in rows:
        label = text_band(f"{row.style}\n{row.photo}", LABEL_WIDTH, TILE[1] + CAPTION)
        lines.append(np.hstack([label] + [cell(p, c) for p, c in zip(row.pictures, row.captions)]))
    return np.vstack(lines)


def write_sheet(path: Path, rows: list[SheetRow]) -> Path:
    """The sheet as ``path`` (JPEG quality lowered until it is under ``MAX_BYTES``; PNG as it is)."""
    sheet = build_sheet(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    params: list[int] = []
    if path.suffix.lower() in (".jpg", ".jpeg"):
        for quality in (90, 85, 80, 75, 70):
            params = [cv2.IMWRITE_JPEG_QUALITY, quality]
            ok, data = cv2.imencode(".jpg", sheet, params)
            if ok and len(data) <= MAX_BYTES:
                break
    write_image_atomic(path, sheet, params=params)
    return path
