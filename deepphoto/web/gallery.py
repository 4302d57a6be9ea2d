"""The gallery of paintings: each shipped style's title and a thumbnail of a fixed sample painted in
it, made at run time (so the package needs no picture files and the thumbnails always match the
installed network)."""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.models.paintings import PAINTINGS
from deepphoto.models.shipped import styles_key
from deepphoto.settings import EFFECT_NAMES

THUMB = (160, 120)  # width, height
PAINT_AT = (320, 240)  # the sample is painted at this size, then shrunk (brush strokes stay fine)


def sample_picture(size: tuple[int, int] = PAINT_AT) -> np.ndarray:
    """A small landscape drawn from primitives (sky, sun, hills, lake, a house, a tree, a person):
    colour, edges and flat areas, which is what makes one style look unlike another."""
    w, h = 320, 240
    img = np.zeros((h, w, 3), np.uint8)
    t = np.linspace(0.0, 1.0, h // 2)[:, None]
    sky = (1 - t) * np.array([235, 160, 70]) + t * np.array([250, 225, 200])  # BGR: deep blue to pale
    img[: h // 2] = sky[:, None, :].astype(np.uint8)
    cv2.circle(img, (250, 55), 26, (90, 215, 255), -1, cv2.LINE_AA)
    xs = np.arange(w)
    for base, amp, freq, phase, colour in (
        (120, 22, 0.021, 0.5, (90, 140, 70)),
        (140, 16, 0.033, 2.0, (60, 160, 95)),
    ):
        top = (base + amp * np.sin(xs * freq + phase)).astype(int)
        for x in range(w):
            img[top[x] :, x] = colour
    img[185:] = (150, 110, 40)  # lake
    for y in range(190, 240, 9):
        cv2.line(img, (0, y), (w, y + 3), (185, 150, 80), 1, cv2.LINE_AA)
    cv2.rectangle(img, (40, 120), (100, 170), (70, 90, 200), -1)  # house
    cv2.fillPoly(img, [np.array([(34, 122), (70, 92), (106, 122)])], (40, 40, 120), cv2.LINE_AA)
    cv2.rectangle(img, (62, 145), (78, 170), (30, 50, 90), -1)
    cv2.rectangle(img, (200, 130), (208, 175), (30, 60, 90), -1)  # tree
    cv2.circle(img, (204, 118), 22, (40, 120, 40), -1, cv2.LINE_AA)
    cv2.circle(img, (150, 128), 9, (150, 180, 225), -1, cv2.LINE_AA)  # a person
    cv2.ellipse(img, (150, 160), (13, 24), 0, 0, 360, (140, 60, 170), -1, cv2.LINE_AA)
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA) if size != (w, h) else img


def styles() -> list[dict[str, str]]:
    """[{name, title, version}] for every style of the installed network, in its order; ``version``
    ('' for a shipped style) changes with a user style's rows (``add-style --replace``), so the
    page asks for its new gallery picture, not the one its browser keeps."""
    titles = {s.name: s.title for s in PAINTINGS}  # every shipped painting, as `styles` shows
    return [{"name": n, "title": titles.get(n, n), "version": sha[:16]} for n, sha in styles_key()]


def effects() -> list[str]:
    return list(EFFECT_NAMES)


def thumbnail(painted: np.ndarray) -> bytes:
    """A painted sample as a small JPEG."""
    small = cv2.resize(painted, THUMB, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()
