"""Soft person labels from a teacher ensemble, made once and cached for LightNet's training.

Labelled: every TRAIN image of every labelled set (never a validation image), every unlabelled
selfie, and every ``FRAME_EVERY``-th frame of each clip in ``video/``. Per image, under
``<cache>/teacher-labels/<set>/``:

- ``<stem>.png``       person probability x 255 (8-bit), the image's size;
- ``<stem>.conf.png``  confidence x 255: 1 - (max - min) of the three teachers' probabilities;
- ``<stem>.jpg``       for clip frames only, the frame itself (JPEG quality 95).

Files are written under a temporary name and renamed, the label last, so an existing label means
the image is done and a stopped run resumes where it was.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deepphoto import datasets
from deepphoto.assets import cache_dir
from deepphoto.errors import DeepPhotoError

TEACHERS = ("rvm", "mp-general", "mp-landscape")
# RVM counted twice beside both MediaPipe models: of every subset mean and three weightings, the
# best or within 0.004 person IoU of it on 120 TRAIN images of each labelled set (never chosen on
# the validation splits, which only report it): docs/training/teacher-labels.md.
WEIGHTS = {"rvm": 2.0, "mp-general": 1.0, "mp-landscape": 1.0}
UNLABELLED = "unlabelled-selfies"
VIDEO = "video"
SETS = (*datasets.LABELLED_SETS, UNLABELLED, VIDEO)
FRAME_EVERY = 5
JPEG_QUALITY = 95

Teacher = Callable[[np.ndarray], np.ndarray]


def load_teachers(
    names: tuple[str, ...] = TEACHERS, threads: int | None = 1, download: bool = True
) -> dict[str, Teacher]:
    """name -> callable(frame BGR) -> person probability float32 of the frame's size."""
    from deepphoto.teachers.mediapipe import mediapipe_general, mediapipe_landscape
    from deepphoto.teachers.rvm import RobustVideoMatting

    makers = {"rvm": RobustVideoMatting, "mp-general": mediapipe_general, "mp-landscape": mediapipe_landscape}
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise DeepPhotoError(f"unknown teacher {unknown[0]!r}: choose from {', '.join(makers)}")
    return {n: makers[n](threads=threads, download=download) for n in names}


class Ensemble:
    """Weighted mean of some teachers' probabilities; confidence from all teachers' disagreement."""

    def __init__(self, teachers: dict[str, Teacher], weights: dict[str, float] | None = None) -> None:
        self.teachers = teachers
        self.weights = dict(WEIGHTS if weights is None else weights)
        missing = [n for n in self.weights if n not in teachers]
        if missing or not self.weights or min(self.weights.values()) <= 0:
            raise DeepPhotoError(f"ensemble weights {self.weights} need positive weights of loaded teachers")

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(person probability, confidence), both float32 in [0, 1] of the frame's size."""
        probs = {n: t(frame) for n, t in self.teachers.items()}
        prob = sum(w * probs[n] for n, w in self.weights.items()) / sum(self.weights.values())
        stack = np.stack(list(probs.values()))
        confidence = 1 - (stack.max(0) - stack.min(0))
        return np.clip(prob, 0, 1).astype(np.float32), confidence.astype(np.float32)

    def describe(self) -> dict:
        return {"weights": self.weights, "confidence": f"1 - (max - min) of {', '.join(self.teachers)}"}


def labels_dir() -> Path:
    return cache_dir() / "teacher-labels"


@dataclass(frozen=True)
class LabelPaths:
    label: Path
    confidence: Path
    frame: Path  # written for clip frames only


def label_paths(set_name: str, stem: str, root: Path | None = None) -> LabelPaths:
    folder = (root or labels_dir()) / set_name
    return LabelPaths(folder / f"{stem}.png", folder / f"{stem}.conf.png", folder / f"{stem}.jpg")


def read_label(set_name: str, stem: str, root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(probability, confidence) float32 in [0, 1] of a cached label."""
    p = label_paths(set_name, stem, root)
    out = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in (p.label, p.confidence)]
    if any(x is None for x in out):
        raise DeepPhotoError(f"{p.label}: no teacher label (run 'deepphoto label-teachers')")
    return out[0].astype(np.float32) / 255, out[1].astype(np.float32) / 255


@dataclass(frozen=True)
class Item:
    set_name: str
    stem: str
    load: Callable[[], np.ndarray]  # the BGR image
    is_frame: bool = False


def _image_items(set_name: str, paths: list[Path]) -> Iterator[Item]:
    for p in paths:
        yield Item(set_name, p.stem, lambda p=p: datasets.read_image(p))


def _frame_items(every: int, limit: int | None) -> Iterator[Item]:
    done = 0
    for clip in datasets.video_clips():
        cid = datasets.clip_id(clip)
        for index, frame in datasets.clip_frames(clip, every):
            if limit is not None and done >= limit:
                return
            done += 1
            yield Item(VIDEO, f"{cid}-{index:05d}", lambda f=frame: f, is_frame=True)


def items(set_name: str, every: int = FRAME_EVERY, limit: int | None = None) -> tuple[int, Iterator[Item]]:
    """(how many, the items) of one set to label: train images, unlabelled selfies or clip frames."""
    if set_name in datasets.LABELLED_SETS:
        paths = [img for img, _ in datasets.pairs(set_name, "train")][:limit]
        return len(paths), _image_items(set_name, paths)
    if set_name == UNLABELLED:
        paths = datasets.unlabelled_selfies()[:limit]
        return len(paths), _image_items(set_name, paths)
    if set_name == VIDEO:
        total = 0
        for clip in datasets.video_clips():
            cap = cv2.VideoCapture(str(clip))
            total += -(-int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) // every)  # an estimate, for progress
            cap.release()
        return min(total, limit if limit is not None else total), _frame_items(every, limit)
    raise DeepPhotoError(f"unknown set {set_name!r}: choose from {', '.join(SETS)}")


def _write(path: Path, image: np.ndarray, params: list[int] | None = None) -> None:
    ok, buf = cv2.imencode(path.suffix, image, params or [])
    if not ok:
        raise DeepPhotoError(f"{path}: could not encode the image")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.tobytes())
    os.replace(tmp, path)


def to_u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def label_item(item: Item, ensemble: Ensemble, root: Path | None = None) -> bool:
    """Label one item unless its label exists; True when it was labelled now."""
    paths = label_paths(item.set_name, item.stem, root)
    if paths.label.exists():
        return False
    paths.label.parent.mkdir(parents=True, exist_ok=True)
    image = item.load()
    prob, confidence = ensemble(image)
    if item.is_frame:
        _write(paths.frame, image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    _write(paths.confidence, to_u8(confidence))
    _write(paths.label, to_u8(prob))
    return True


def check_manifest(ensemble: Ensemble, every: int = FRAME_EVERY, root: Path | None = None) -> None:
    """Record the ensemble in ``teachers.json``; refuse to mix labels of a different ensemble."""
    root = root or labels_dir()
    path, want = root / "teachers.json", {**ensemble.describe(), "frame_every": every}
    if path.exists():
        have = json.loads(path.read_text())
        if have != want:
            raise DeepPhotoError(f"{root} holds labels of another ensemble ({have}): remove it to relabel")
        return
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(want, indent=1) + "\n")
    os.replace(tmp, path)


def label_sets(
    sets: Sequence[str] = SETS,
    threads: int = 1,
    every: int = FRAME_EVERY,
    limit: int | None = None,
    download: bool = True,
) -> dict[str, int]:
    """Label every set in ``sets`` that is not labelled yet, with a progress bar on stderr; returns
    how many images of each set were labelled now. ``limit``: at most that many images per set."""
    import cv2
    from tqdm import tqdm

    unknown = [s for s in sets if s not in SETS]
    if unknown:
        raise DeepPhotoError(f"unknown set {unknown[0]!r}: choose from {', '.join(SETS)}")
    if threads < 1 or every < 1 or (limit is not None and limit < 0):
        raise DeepPhotoError("threads and every must be at least 1, limit at least 0")
    cv2.setNumThreads(threads)  # decoding and resizing stay within the thread budget too
    ensemble = Ensemble(load_teachers(threads=threads, download=download))
    check_manifest(ensemble, every)
    print(f"teacher labels: {labels_dir()}", file=sys.stderr)
    made: dict[str, int] = {}
    for name in sets:
        total, todo = items(name, every, limit)
        made[name] = 0
        t0 = time.perf_counter()
        for item in tqdm(todo, total=total, desc=name, unit="img", mininterval=5, file=sys.stderr):
            made[name] += label_item(item, ensemble)
        spent = time.perf_counter() - t0
        per = f", {1000 * spent / made[name]:.0f} ms per labelled image" if made[name] else ""
        print(f"{name}: {made[name]} labelled now, the rest already done ({spent:.0f} s{per})", file=sys.stderr)
    return made
