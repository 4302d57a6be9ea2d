"""Pictures and a timing for "any painting" (deepphoto.arbitrary, Magenta's arbitrary-style networks).

.venv/bin/python scripts/any_painting.py strength docs/any-painting-strength.jpg  # both --strength candidates
.venv/bin/python scripts/any_painting.py paintings docs/any-painting-styles.jpg   # the 7 shared paintings
.venv/bin/python scripts/any_painting.py latency                                  # median paint() at 640x480

``strength`` draws both ways of weakening a painting, at strengths 0, 0.25, 0.5, 0.75 and 1, on two
portraits of ``../shared/data/seg/eg-portraits``: blending the painting's style vector with the
photo's own (Magenta's paper) and blending the painted photo with the unpainted one (shipped).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from deepphoto.arbitrary import ArbitraryStyle

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PORTRAITS = ("00001.jpg", "00010.jpg")
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
TILE = (180, 240)  # width, height of one picture in a sheet


def read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    if image is None:
        sys.exit(f"{path}: not found (the shared data set is needed)")
    return image


def tile(image: np.ndarray, size: tuple[int, int] = TILE) -> np.ndarray:
    """``image`` cropped to the tile's aspect (centre) and scaled to it."""
    w, h = size
    ih, iw = image.shape[:2]
    if iw / ih > w / h:
        cw = round(ih * w / h)
        image = image[:, (iw - cw) // 2 : (iw - cw) // 2 + cw]
    else:
        ch = round(iw * h / w)
        image = image[(ih - ch) // 2 : (ih - ch) // 2 + ch]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def label(image: np.ndarray, text: str, height: int = 22) -> np.ndarray:
    band = np.full((height, image.shape[1], 3), 255, np.uint8)
    cv2.putText(band, text, (4, height - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([band, image])


def row_title(text: str, height: int, width: int = 150) -> np.ndarray:
    panel = np.full((height, width, 3), 255, np.uint8)
    for i, line in enumerate(text.split("\n")):
        y = height // 2 - 10 + 18 * i
        cv2.putText(panel, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return panel


def strength_sheet(teacher: ArbitraryStyle, out: Path) -> None:
    pairs = ((PORTRAITS[0], "starry_night.jpg"), (PORTRAITS[1], "the_scream.jpg"))
    rows = []
    for portrait, painting in tqdm(pairs, desc="strength sheet"):
        image = read(SHARED / "seg" / "eg-portraits" / "images" / portrait)
        vector = teacher.style_vector(read(SHARED / "styles" / painting))
        own = teacher.style_vector(image)  # the photo's own style, for the paper's way
        by_vector = [teacher.paint(image, s * vector + (1 - s) * own) for s in STRENGTHS]
        by_output = [teacher.paint(image, vector, s) for s in STRENGTHS]
        name = Path(painting).stem.replace("_", " ")
        for title, pictures in (
            (f"{name}:\nstyle vectors\nblended\n(not chosen)", by_vector),
            (f"{name}:\npainted and\nunpainted photo\nblended (shipped)", by_output),
        ):
            cells = [label(tile(p), f"strength {s:g}") for p, s in zip(pictures, STRENGTHS)]
            rows.append(np.hstack([row_title(title, cells[0].shape[0]), *cells]))
    save(np.vstack(rows), out)


def paintings_sheet(teacher: ArbitraryStyle, out: Path, portrait: str = PORTRAITS[0]) -> None:
    image = read(SHARED / "seg" / "eg-portraits" / "images" / portrait)
    paintings = sorted((SHARED / "styles").glob("*.jpg"))
    top, bottom = [label(np.full_like(tile(image), 255), "painting:")], [label(tile(image), "content | result:")]
    for path in tqdm(paintings, desc="paintings sheet"):
        art = read(path)
        top.append(label(tile(art), path.stem.replace("_", " ")[:22]))
        bottom.append(label(tile(teacher.paint(image, teacher.style_vector(art))), "result"))
    save(np.vstack([np.hstack(top), np.hstack(bottom)]), out)


def save(sheet: np.ndarray, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    for quality in (90, 85, 80, 75, 70):  # the README's pictures stay under 400 KB
        ok, data = cv2.imencode(".jpg", sheet, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(data) < 400_000:
            break
    out.write_bytes(data.tobytes())
    print(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]}, {len(data) // 1024} KB, JPEG quality {quality})")


def latency(teacher: ArbitraryStyle, runs: int = 30) -> None:
    image = cv2.resize(read(SHARED / "seg" / "eg-portraits" / "images" / PORTRAITS[0]), (640, 480))
    vector = teacher.style_vector(read(SHARED / "styles" / "starry_night.jpg"))
    for _ in range(3):
        teacher.paint(image, vector)
    times = {"paint 640x480": [], "style_vector": []}
    for _ in tqdm(range(runs), desc="latency"):
        t = time.perf_counter()
        teacher.paint(image, vector)
        times["paint 640x480"].append(time.perf_counter() - t)
        t = time.perf_counter()
        teacher.style_vector(image)
        times["style_vector"].append(time.perf_counter() - t)
    for name, values in times.items():
        ms = sorted(v * 1000 for v in values)
        print(f"{name}: median {statistics.median(ms):.1f} ms, min {ms[0]:.1f}, max {ms[-1]:.1f} ({runs} runs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("strength", "paintings", "latency"))
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    teacher = ArbitraryStyle.open(args.threads)
    if args.what == "strength":
        strength_sheet(teacher, args.out or Path("docs/any-painting-strength.jpg"))
    elif args.what == "paintings":
        paintings_sheet(teacher, args.out or Path("docs/any-painting-styles.jpg"))
    else:
        latency(teacher)
