"""Accuracy gates a reduced-precision engine must pass against its float original, and timing."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deepphoto.datasets import IMAGE_SUFFIXES, LABELLED_SETS, read_pair
from deepphoto.engines.base import Engine
from deepphoto.engines.models import ModelSpec
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import to_network_input
from deepphoto.metrics import SegScores, iou
from deepphoto.settings import LIGHTNET_INPUT

IOU_GATE_POINTS = 1.0  # LightNet: person IoU may drop at most this many points (of 100)
AGREEMENT_GATE = 0.97  # without labels: mean IoU of reduced-precision masks against float masks
PSNR_GATE_DB = 30.0  # style network: output PSNR against the float network's output


@dataclass
class GateResult:
    passed: bool
    text: str
    values: dict[str, float]


def validation_portraits(portraits: Path) -> list[tuple[Path, Path]]:
    """(image, mask) paths of the portraits' fixed validation split, sorted by name (the split rule
    is ``deepphoto.datasets``'; these files are never trained on)."""
    rule = LABELLED_SETS["portraits"]
    pairs = []
    for img in sorted((portraits / "images").iterdir()):
        if img.suffix.lower() in IMAGE_SUFFIXES and rule.is_validation(img.stem):
            mask = portraits / "masks" / f"{img.stem}.png"
            if not mask.exists():
                raise DeepPhotoError(f"{img}: no mask {mask} for this image")
            pairs.append((img, mask))
    return pairs


def person_iou(engine: Engine, pairs: list[tuple[Path, Path]], input_size: tuple[int, int] = LIGHTNET_INPUT) -> float:
    """Mean per-image person IoU of a LightNet engine over (image, mask) ``pairs``, as ``eval-seg``
    scores it: the network's output at its own resolution, resized to the image, person above 0.5."""
    scores = SegScores()
    for img_path, mask_path in pairs:
        img, truth = read_pair(img_path, mask_path)
        prob = engine.run(to_network_input(img, input_size))[0, 0]
        full = cv2.resize(prob, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
        scores.add(full > 0.5, truth)
    return scores.person_iou


def lightnet_gate(reference: Engine, candidate: Engine, portraits: Path, frames: Iterable[np.ndarray]) -> GateResult:
    """Person IoU on the validation portraits (labels), or agreement with float on ``frames``."""
    if (portraits / "images").is_dir():
        pairs = validation_portraits(portraits)
        ref = person_iou(reference, pairs)
        got = person_iou(candidate, pairs)
        drop = (ref - got) * 100
        passed = drop <= IOU_GATE_POINTS
        text = (
            f"person IoU on {len(pairs)} validation portraits: float {ref:.4f}, this engine {got:.4f} "
            f"({-drop:+.2f} points; gate: at most {IOU_GATE_POINTS:.1f} point lower) -> {'pass' if passed else 'FAIL'}"
        )
        return GateResult(passed, text, {"float_iou": ref, "iou": got, "drop_points": drop})
    ious = [iou(reference.run(x)[0, 0] > 0.5, candidate.run(x)[0, 0] > 0.5) for x in frames]
    agreement = float(np.mean(ious)) if ious else 0.0
    passed = agreement >= AGREEMENT_GATE
    text = (
        f"no labelled validation portraits at {portraits}: mask agreement with float on {len(ious)} frames "
        f"{agreement:.4f} (gate: at least {AGREEMENT_GATE}) -> {'pass' if passed else 'FAIL'}"
    )
    return GateResult(passed, text, {"agreement_iou": agreement})


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two images in [0, 1] (clipped as the pipeline clips them)."""
    mse = float(np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2))
    return 99.0 if mse == 0 else 10 * float(np.log10(1.0 / mse))


def style_gate(reference: Engine, candidate: Engine, spec: ModelSpec, frames: Iterable[np.ndarray]) -> GateResult:
    """PSNR of the candidate's paintings against float's, per style over every frame: each style
    must keep a mean of at least ``PSNR_GATE_DB``."""
    per_style: list[list[float]] = [[] for _ in range(spec.styles)]
    for x in frames:
        for s in range(spec.styles):
            feed = spec.feed(s, x)
            per_style[s].append(psnr(reference.run(*feed.values()), candidate.run(*feed.values())))
    means = [float(np.mean(v)) for v in per_style if v]
    worst = min(means) if means else 0.0
    passed = bool(means) and worst >= PSNR_GATE_DB
    text = (
        f"PSNR against float, {len(per_style[0]) if per_style else 0} frames x {spec.styles} styles: "
        f"mean {np.mean(means) if means else 0:.1f} dB, worst style {worst:.1f} dB "
        f"(gate: every style at least {PSNR_GATE_DB:.0f} dB) -> {'pass' if passed else 'FAIL'}"
    )
    return GateResult(passed, text, {"psnr_db": float(np.mean(means)) if means else 0.0, "worst_style_psnr_db": worst})


def compare_ms(
    reference: Engine, candidate: Engine, feed: dict[str, np.ndarray], rounds: int = 4, runs: int = 10
) -> tuple[float, float]:
    """Median latency (ms) of both engines on ``feed``, timed in alternating blocks so that a busy
    machine slows both alike (whole blocks, not single runs: one session's spinning thread pool
    must not steal the other's cores)."""
    inputs = list(feed.values())
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for engine, out in ((reference, times[0]), (candidate, times[1])):
            engine.run(*inputs)  # the first run of a block wakes the pool: not counted
            for _ in range(runs):
                t = time.perf_counter()
                engine.run(*inputs)
                out.append(time.perf_counter() - t)
    return float(np.median(times[0]) * 1000), float(np.median(times[1]) * 1000)
