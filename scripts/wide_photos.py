"""Wide and tall photos: person IoU of the shipped LightNet (INT8, as `edit` uses it) on pictures
made of several full-figure photos side by side or stacked, squashed whole into the network as
before, or window by window (``deepphoto.segmenters.tiles``). Uses TRAINING photos of the fashion
set (its validation split is never used to choose anything). Results: docs/benchmark/wide-photos.md.

    python scripts/wide_photos.py
"""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto import datasets
from deepphoto.segmenters.lightnet import LightNetSegmenter
from deepphoto.segmenters.tiles import windowed_probability

HEIGHT, WIDTH = 400, 300  # side by side at this height; stacked at this width


def iou(prob: np.ndarray, truth: np.ndarray) -> float:
    mask = cv2.resize(prob, truth.shape[::-1], interpolation=cv2.INTER_LINEAR) > 0.5
    return float((mask & truth).sum() / max(1, (mask | truth).sum()))


def scaled(image: np.ndarray, truth: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), cv2.resize(
        truth.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST
    ).astype(bool)


def main() -> None:
    seg = LightNetSegmenter("onnx", None, threads=2, precision="int8")
    pairs = datasets.pairs("fashion", "train", datasets.shared_data())[:60]
    data = [datasets.read_pair(p[0], p[1]) for p in pairs]

    def report(label: str, cases: list[tuple[np.ndarray, np.ndarray]]) -> None:
        whole = [iou(seg.infer(seg.prepare(img)), t) for img, t in cases]
        windows = [iou(windowed_probability(seg, img), t) for img, t in cases]
        h, w = cases[0][0].shape[:2]
        print(
            f"| {label} | {w / h:.2f} | {len(cases)} | {np.mean(whole):.3f} ({min(whole):.3f}) "
            f"| {np.mean(windows):.3f} ({min(windows):.3f}) |",
            flush=True,
        )

    print("| pictures | width / height | n | squashed whole: mean (worst) | window by window: mean (worst) |")
    print("|---|---|---|---|---|")
    for aspect in (1.33, 1.5, 1.78, 2.0, 2.4, 3.0, 4.0, 6.0):  # photos side by side, cut to the aspect
        cases = []
        k = int(np.ceil(aspect / 0.6)) + 1
        for i in range(0, len(data) - k + 1, k):
            parts = [scaled(im, t, (round(im.shape[1] * HEIGHT / im.shape[0]), HEIGHT)) for im, t in data[i : i + k]]
            img, truth = np.hstack([p[0] for p in parts]), np.hstack([p[1] for p in parts])
            w = round(HEIGHT * aspect)
            x = (img.shape[1] - w) // 2
            cases.append((np.ascontiguousarray(img[:, x : x + w]), truth[:, x : x + w]))
        report("side by side", cases)
    for k in (2, 3, 5):  # stacked: a tall strip
        cases = []
        for i in range(0, len(data) - k + 1, k):
            parts = [scaled(im, t, (WIDTH, round(im.shape[0] * WIDTH / im.shape[1]))) for im, t in data[i : i + k]]
            cases.append((np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])))
        report(f"{k} stacked", cases)


if __name__ == "__main__":
    main()
