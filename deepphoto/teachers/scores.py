"""How good the teachers' labels are: person IoU and boundary IoU of each teacher and ensemble.

Boundary IoU follows Cheng et al. 2021 (their ``mask_to_boundary``, in ``deepphoto.metrics``, which
``eval-seg`` and ``bench-seg`` use too): each mask's inner band of width d = 2% of the image
diagonal (the mask minus its erosion by d, the frame's edge counted as an edge), then the IoU of the
two bands. For ``hands`` the mask marks only the hands, so person IoU
means nothing: the score there is the share of hand pixels called person.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from deepphoto import datasets
from deepphoto.errors import DeepPhotoError
from deepphoto.metrics import boundary_iou, iou
from deepphoto.settings import counted
from deepphoto.teachers import label


def hand_recall(pred: np.ndarray, hands: np.ndarray) -> float:
    """Share of the hand pixels called person (1.0 when the mask has no hand)."""
    n = int(hands.sum())
    return 1.0 if n == 0 else float(np.logical_and(pred, hands).sum() / n)


@dataclass
class Scores:
    """Per-image scores of one labeller on one split (``person`` is hand recall for hands)."""

    person: list[float] = field(default_factory=list)
    boundary: list[float] = field(default_factory=list)

    def add(self, prob: np.ndarray, truth: np.ndarray, meaning: str) -> None:
        pred = prob >= 0.5
        if meaning == datasets.HANDS_ONLY:
            self.person.append(hand_recall(pred, truth))
        else:
            self.person.append(iou(pred, truth))
            self.boundary.append(boundary_iou(pred, truth))

    @staticmethod
    def _mean(xs: list[float]) -> float:
        return float(np.mean(xs)) if xs else float("nan")

    @property
    def mean_person(self) -> float:
        return self._mean(self.person)

    @property
    def mean_boundary(self) -> float:
        return self._mean(self.boundary)


def subsets(names: Sequence[str]) -> list[tuple[str, ...]]:
    """Every non-empty combination of teachers, singles first."""
    return [c for k in range(1, len(names) + 1) for c in itertools.combinations(names, k)]


@dataclass
class SetReport:
    name: str
    meaning: str
    n: int = 0
    scores: dict[str, Scores] = field(default_factory=dict)  # "rvm", "rvm+mp-general", ...
    seconds: dict[str, float] = field(default_factory=dict)  # teacher -> total inference seconds


def evaluate(
    set_name: str,
    teachers: dict[str, Callable[[np.ndarray], np.ndarray]],
    split: str = "val",
    limit: int | None = None,
    weights: dict[str, dict[str, float]] | None = None,
) -> SetReport:
    """Every teacher, every plain mean of a subset of them, and each extra weighting in ``weights``
    (label -> teacher -> weight), scored on one split of a labelled set."""
    s = datasets.labelled_set(set_name)
    pairs = datasets.pairs(set_name, split)[:limit]
    report = SetReport(set_name, s.meaning, len(pairs), seconds=dict.fromkeys(teachers, 0.0))
    combos = {"+".join(c): {t: 1.0 for t in c} for c in subsets(list(teachers))}
    combos.update(weights or {})
    for img_path, mask_path in pairs:
        img, truth = datasets.read_pair(img_path, mask_path)
        probs = {}
        for name, teacher in teachers.items():
            t0 = time.perf_counter()
            probs[name] = teacher(img)
            report.seconds[name] += time.perf_counter() - t0
        for name, w in combos.items():
            mean = sum(w[t] * probs[t] for t in w) / sum(w.values())
            report.scores.setdefault(name, Scores()).add(mean, truth, s.meaning)
    return report


def markdown(reports: list[SetReport]) -> str:
    """One table: a row per teacher or ensemble, a column pair per set."""
    rows = list(dict.fromkeys(k for r in reports for k in r.scores))
    head = "| teachers | " + " | ".join(
        f"{r.name} ({r.n}) hand recall" if r.meaning == datasets.HANDS_ONLY else f"{r.name} ({r.n}) IoU / boundary"
        for r in reports
    )
    lines = [head + " |", "|---" * (len(reports) + 1) + "|"]
    for row in rows:
        cells = []
        for r in reports:
            sc = r.scores.get(row)
            if sc is None:
                cells.append("")
            elif r.meaning == datasets.HANDS_ONLY:
                cells.append(f"{sc.mean_person:.3f}")
            else:
                cells.append(f"{sc.mean_person:.3f} / {sc.mean_boundary:.3f}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    times = {
        t: sum(r.seconds.get(t, 0) for r in reports) / max(1, sum(r.n for r in reports)) for t in reports[0].seconds
    }
    lines.append("")
    lines.append("Inference time per image: " + ", ".join(f"{t} {1000 * s:.0f} ms" for t, s in times.items()))
    return "\n".join(lines)


def report(
    sets: Sequence[str] = tuple(datasets.LABELLED_SETS),
    threads: int = 1,
    split: str = "val",
    limit: int | None = None,
    download: bool = True,
) -> str:
    """The markdown table of every teacher, subset mean and the labelling ensemble on a split."""
    wanted = [s for s in sets if s in datasets.LABELLED_SETS]
    if not wanted or threads < 1:
        raise DeepPhotoError(f"a report needs threads >= 1 and a labelled set: {', '.join(datasets.LABELLED_SETS)}")
    teachers = label.load_teachers(threads=threads, download=download)
    chosen = "ensemble " + "+".join(f"{w:g}*{n}" for n, w in label.WEIGHTS.items())
    reports = []
    for name in wanted:
        t0 = time.perf_counter()
        reports.append(evaluate(name, teachers, split, limit, {chosen: label.WEIGHTS}))
        images = counted(reports[-1].n, f"{split} image")
        print(f"{name}: {images} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return markdown(reports)
